//! The `aws_app` stack binary on the `aws_network` stack (a stack reference),
//! against moto, on the S3 backend and on the local one: the full cycle with a
//! secret canary searched for in every artifact, passphrase errors, a missing
//! referenced stack; and 20 processes racing for one stack's lock.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use aws_sdk_ec2::types::Filter;
use mkso::StackName;
use mkso::state::{Backend, LocalBackend, S3Backend};
use mkso::testing::stored_text;

use crate::{ec2, moto, text};

const NET: &str = env!("CARGO_BIN_EXE_aws_network");
const APP: &str = env!("CARGO_BIN_EXE_aws_app");
const BENCH: &str = env!("CARGO_BIN_EXE_data_bench");
pub(crate) const BUCKET: &str = "mkso-e2e-state";
const PASSPHRASE: &str = "e2e passphrase, not a real one";

fn stacks_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Creates the state bucket on moto (an existing one is fine; moto does not
/// check signatures, so a plain PUT does).
pub(crate) async fn ensure_bucket() {
    let url = format!("{}/{BUCKET}", moto());
    let r = reqwest::Client::new().put(url).send().await.unwrap();
    assert!(
        r.status().is_success() || r.status().as_u16() == 409,
        "{}",
        r.status()
    );
}

enum Kind {
    Local,
    S3,
}

/// Two project directories (copies of the real ones, with the real QA config
/// under a unique stack name) sharing one backend.
struct World {
    _dir: tempfile::TempDir,
    net_dir: PathBuf,
    app_dir: PathBuf,
    net_stack: String,
    app_stack: String,
    backend_url: String,
    backend: Arc<dyn Backend>,
    /// Everything every command printed.
    printed: String,
}

impl World {
    fn new(kind: Kind, tag: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let env = format!("QA{tag}{}", std::process::id());
        let net_dir = dir.path().join("aws_network");
        let app_dir = dir.path().join("aws_app");
        for (d, src, base) in [
            (&net_dir, "aws_network", "aws.network"),
            (&app_dir, "aws_app", "aws.app"),
        ] {
            std::fs::create_dir_all(d).unwrap();
            let src = stacks_dir().join(src);
            std::fs::copy(src.join("Mkso.yaml"), d.join("Mkso.yaml")).unwrap();
            std::fs::copy(
                src.join(format!("Mkso.{base}.QA.yaml")),
                d.join(format!("Mkso.{base}.{env}.yaml")),
            )
            .unwrap();
        }
        let (backend_url, backend): (String, Arc<dyn Backend>) = match kind {
            Kind::Local => {
                let state = dir.path().join("state");
                (
                    format!("file://{}", state.display()),
                    Arc::new(LocalBackend::new(state)),
                )
            }
            Kind::S3 => {
                let prefix = format!("e2e-{env}");
                (
                    format!("s3://{BUCKET}/{prefix}"),
                    Arc::new(S3Backend::new(BUCKET, prefix).with_endpoint(moto())),
                )
            }
        };
        World {
            _dir: dir,
            net_dir,
            app_dir,
            net_stack: format!("aws.network.{env}"),
            app_stack: format!("aws.app.{env}"),
            backend_url,
            backend,
            printed: String::new(),
        }
    }

    /// A local-backend world with the network and the app up.
    fn both_up(tag: &str) -> World {
        let mut w = World::new(Kind::Local, tag);
        w.set_secret("app:db_password", "not the canary");
        let o = w.net(&["up", "--yes"]);
        assert!(o.status.success(), "{}", text(&o));
        let o = w.app(&["up", "--yes"]);
        assert!(o.status.success(), "{}", text(&o));
        w
    }

    fn cmd(&self, bin: &str, dir: &Path, stack: &str, args: &[&str]) -> Command {
        let mut c = Command::new(bin);
        c.args(args)
            .args(["--stack", stack, "--project-dir", dir.to_str().unwrap()])
            .env("MKSO_BACKEND_URL", &self.backend_url)
            .env("MKSO_PASSPHRASE", PASSPHRASE)
            .env("MKSO_LOG", "debug")
            .env("AWS_ENDPOINT_URL", moto())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env_remove("MKSO_STACK")
            .env_remove("MKSO_PROJECT_DIR")
            .stdin(Stdio::null());
        c
    }

    fn keep(&mut self, o: Output) -> Output {
        self.printed.push_str(&text(&o));
        o
    }

    fn net(&mut self, args: &[&str]) -> Output {
        let o = self
            .cmd(NET, &self.net_dir, &self.net_stack, args)
            .output()
            .unwrap();
        self.keep(o)
    }

    fn app(&mut self, args: &[&str]) -> Output {
        let o = self
            .cmd(APP, &self.app_dir, &self.app_stack, args)
            .output()
            .unwrap();
        self.keep(o)
    }

    fn app_with(&mut self, args: &[&str], env: &[(&str, Option<&str>)]) -> Output {
        let mut c = self.cmd(APP, &self.app_dir, &self.app_stack, args);
        for (k, v) in env {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        let o = c.output().unwrap();
        self.keep(o)
    }

    /// `config set --secret` with the value on standard input.
    fn set_secret(&mut self, key: &str, value: &str) {
        let o = crate::output_with_stdin(
            &mut self.cmd(
                APP,
                &self.app_dir,
                &self.app_stack,
                &["config", "set", "--secret", key],
            ),
            format!("{value}\n").as_bytes(),
        );
        assert!(o.status.success(), "{}", text(&o));
        self.keep(o);
    }

    /// `destroy` of the app, then of the network; nothing tagged with either is left.
    async fn destroy_both(&mut self) {
        let o = self.app(&["destroy", "--yes"]);
        assert!(o.status.success(), "{}", text(&o));
        let o = self.net(&["destroy", "--yes"]);
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(live(&self.app_stack).await, (0, 0, 0, 0));
        assert_eq!(live(&self.net_stack).await, (0, 0, 0, 0));
        for stack in [&self.app_stack, &self.net_stack] {
            let left = in_services(stack).await;
            assert!(left.is_empty(), "left tagged with {stack}: {left:?}");
        }
    }

    /// Every byte the backend keeps for both stacks, and both stack files.
    async fn artifacts(&self) -> String {
        let mut all = String::new();
        for stack in [&self.net_stack, &self.app_stack] {
            let s = StackName::new(stack).unwrap();
            all.push_str(&stored_text(self.backend.as_ref(), &s).await.unwrap());
        }
        for (d, stack) in [
            (&self.net_dir, &self.net_stack),
            (&self.app_dir, &self.app_stack),
        ] {
            all.push_str(&std::fs::read_to_string(d.join(format!("Mkso.{stack}.yaml"))).unwrap());
        }
        all
    }
}

/// The QA app config changed so that an update fails after changing
/// something: a new SSH range (its rules are replaced, deleting first) and an
/// instance type EC2 does not have (the app instances' replacements are
/// refused).
fn failing_update(config: &str) -> String {
    config
        .replace(
            "app:instance_type: t3.micro",
            "app:instance_type: t3.nonexistent",
        )
        .replace("203.0.113.0/24", "198.51.100.0/24")
}

/// What EC2 has for `stack`: the counts of [`live`] and the [`ingress`] CIDRs.
async fn ec2_view(stack: &str) -> ((usize, usize, usize, usize), Vec<String>) {
    (live(stack).await, ingress(stack).await)
}

/// A describe filter: resources tagged with `stack`.
fn of_stack(stack: &str) -> Filter {
    Filter::builder()
        .name("tag:mkso:stack")
        .values(stack)
        .build()
}

/// The instances tagged with `stack`, each with its state's name.
async fn instances_of(stack: &str) -> Vec<(String, aws_sdk_ec2::types::Instance)> {
    ec2()
        .await
        .describe_instances()
        .filters(of_stack(stack))
        .send()
        .await
        .unwrap()
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| {
            let state = i.state().and_then(|s| s.name()).map(|n| n.as_str());
            (state.unwrap_or_default().to_string(), i.clone())
        })
        .collect()
}

/// Live instances, security groups, addresses and VPCs tagged with `stack`.
async fn live(stack: &str) -> (usize, usize, usize, usize) {
    let c = ec2().await;
    let f = || of_stack(stack);
    let instances = instances_of(stack)
        .await
        .iter()
        .filter(|(state, _)| !matches!(state.as_str(), "terminated" | "shutting-down"))
        .count();
    let sgs = c
        .describe_security_groups()
        .filters(f())
        .send()
        .await
        .unwrap()
        .security_groups()
        .len();
    let eips = c
        .describe_addresses()
        .filters(f())
        .send()
        .await
        .unwrap()
        .addresses()
        .len();
    let vpcs = c
        .describe_vpcs()
        .filters(f())
        .send()
        .await
        .unwrap()
        .vpcs()
        .len();
    (instances, sgs, eips, vpcs)
}

/// What the services besides EC2 hold tagged with `stack` (`mkso:stack`):
/// load balancers, target groups, databases, DB subnet groups, buckets, IAM
/// roles, policies and instance profiles, hosted zones — each as
/// `<kind> <id>`.
pub(crate) async fn in_services(stack: &str) -> Vec<String> {
    use mkso_providers_aws::sdk::{iam, route53};
    let p = mkso_providers_aws::AwsProvider::new(mkso_providers_aws::AwsConfig {
        region: "us-east-1".into(),
        endpoint: Some(moto()),
        default_tags: Default::default(),
    })
    .unwrap();
    let mut left = Vec::new();
    let ours = |k: Option<&str>, v: Option<&str>| k == Some("mkso:stack") && v == Some(stack);

    let elb = p.elbv2().await;
    let lbs = elb.describe_load_balancers().send().await.unwrap();
    let tgs = elb.describe_target_groups().send().await.unwrap();
    let arns: Vec<(String, String)> = lbs
        .load_balancers()
        .iter()
        .filter_map(|l| l.load_balancer_arn())
        .map(|a| ("load balancer".to_string(), a.to_string()))
        .chain(
            tgs.target_groups()
                .iter()
                .filter_map(|t| t.target_group_arn())
                .map(|a| ("target group".to_string(), a.to_string())),
        )
        .collect();
    for (kind, arn) in arns {
        let t = elb
            .describe_tags()
            .resource_arns(&arn)
            .send()
            .await
            .unwrap();
        if t.tag_descriptions()
            .iter()
            .flat_map(|d| d.tags())
            .any(|t| ours(t.key(), t.value()))
        {
            left.push(format!("{kind} {arn}"));
        }
    }

    let rds = p.rds().await;
    for db in rds
        .describe_db_instances()
        .send()
        .await
        .unwrap()
        .db_instances()
    {
        if db.tag_list().iter().any(|t| ours(t.key(), t.value())) {
            left.push(format!(
                "database {}",
                db.db_instance_identifier().unwrap_or_default()
            ));
        }
    }
    for g in rds
        .describe_db_subnet_groups()
        .send()
        .await
        .unwrap()
        .db_subnet_groups()
    {
        let arn = g.db_subnet_group_arn().unwrap_or_default();
        let t = rds
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .unwrap();
        if t.tag_list().iter().any(|t| ours(t.key(), t.value())) {
            left.push(format!("DB subnet group {arn}"));
        }
    }

    let s3 = p.s3().await;
    for b in s3.list_buckets().send().await.unwrap().buckets() {
        let name = b.name().unwrap_or_default();
        if let Ok(t) = s3.get_bucket_tagging().bucket(name).send().await
            && t.tag_set()
                .iter()
                .any(|t| ours(Some(t.key()), Some(t.value())))
        {
            left.push(format!("bucket {name}"));
        }
    }

    let iam = p.iam().await;
    let has = |tags: &[iam::types::Tag]| tags.iter().any(|t| ours(Some(t.key()), Some(t.value())));
    for r in iam.list_roles().send().await.unwrap().roles() {
        let got = iam
            .get_role()
            .role_name(r.role_name())
            .send()
            .await
            .unwrap();
        if got.role().is_some_and(|r| has(r.tags())) {
            left.push(format!("role {}", r.role_name()));
        }
    }
    for pol in iam
        .list_policies()
        .scope(iam::types::PolicyScopeType::Local)
        .send()
        .await
        .unwrap()
        .policies()
    {
        let arn = pol.arn().unwrap_or_default();
        let t = iam.list_policy_tags().policy_arn(arn).send().await.unwrap();
        if has(t.tags()) {
            left.push(format!("policy {arn}"));
        }
    }
    for ip in iam
        .list_instance_profiles()
        .send()
        .await
        .unwrap()
        .instance_profiles()
    {
        if has(ip.tags()) {
            left.push(format!("instance profile {}", ip.instance_profile_name()));
        }
    }

    let asg = p.autoscaling().await;
    for g in asg
        .describe_auto_scaling_groups()
        .send()
        .await
        .unwrap()
        .auto_scaling_groups()
    {
        if g.tags().iter().any(|t| ours(t.key(), t.value())) {
            left.push(format!(
                "Auto Scaling group {}",
                g.auto_scaling_group_name().unwrap_or_default()
            ));
        }
    }

    let dns = p.route53().await;
    for z in dns.list_hosted_zones().send().await.unwrap().hosted_zones() {
        let id = z.id().rsplit('/').next().unwrap_or_default();
        let t = dns
            .list_tags_for_resource()
            .resource_type(route53::types::TagResourceType::Hostedzone)
            .resource_id(id)
            .send()
            .await
            .unwrap();
        if t.resource_tag_set()
            .is_some_and(|s| s.tags().iter().any(|t| ours(t.key(), t.value())))
        {
            left.push(format!("hosted zone {id}"));
        }
    }
    left
}

/// The ingress CIDRs of the security groups tagged with `stack`, sorted.
async fn ingress(stack: &str) -> Vec<String> {
    let c = ec2().await;
    let mut v: Vec<String> = c
        .describe_security_groups()
        .filters(of_stack(stack))
        .send()
        .await
        .unwrap()
        .security_groups()
        .iter()
        .flat_map(|g| g.ip_permissions())
        .flat_map(|p| p.ip_ranges())
        .filter_map(|r| r.cidr_ip().map(String::from))
        .collect();
    v.sort();
    v
}

/// The app stack's outputs name its whole environment, and the services
/// have it: the site's record aliases the load balancer, whose target group
/// holds the web instance; web and app instances take the role that reads
/// the bucket; the database answers at its endpoint.
async fn environment_is_whole(w: &mut World) {
    let o = w.app(&["outputs", "--json"]);
    let outs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(outs["site"], "www.qa.shop.example.com", "{outs}");
    let lb_dns = outs["load_balancer"].as_str().unwrap().to_string();
    assert!(lb_dns.contains("elb"), "{outs}");
    let endpoint = outs["db_endpoint"].as_str().unwrap();
    assert!(endpoint.ends_with(":5432"), "{outs}");
    let bucket = outs["assets_bucket"].as_str().unwrap().to_string();
    let app_ids: Vec<String> = serde_json::from_value(outs["app_instance_ids"].clone()).unwrap();

    let p = mkso_providers_aws::AwsProvider::new(mkso_providers_aws::AwsConfig {
        region: "us-east-1".into(),
        endpoint: Some(moto()),
        default_tags: Default::default(),
    })
    .unwrap();
    p.s3()
        .await
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let elb = p.elbv2().await;
    let lbs = elb.describe_load_balancers().send().await.unwrap();
    let lb = lbs
        .load_balancers()
        .iter()
        .find(|l| l.dns_name() == Some(lb_dns.as_str()))
        .expect("the load balancer of the output");
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(lb.load_balancer_arn().unwrap())
        .send()
        .await
        .unwrap();
    let tg = listeners.listeners()[0].default_actions()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    let health = elb
        .describe_target_health()
        .target_group_arn(&tg)
        .send()
        .await
        .unwrap();
    let registered: Vec<String> = health
        .target_health_descriptions()
        .iter()
        .filter_map(|d| d.target()?.id().map(String::from))
        .collect();
    assert_eq!(
        registered.len(),
        1,
        "QA's one web instance (its Auto Scaling group's) serves the site: {registered:?}"
    );
    assert!(registered.iter().all(|i| !app_ids.contains(i)));
    // (moto launches an Auto Scaling group's instances without the
    // template's instance profile: the app instances show the role, the
    // template carries it for the web ones.)
    let described = ec2()
        .await
        .describe_instances()
        .set_instance_ids(Some(app_ids.clone()))
        .send()
        .await
        .unwrap();
    for i in described.reservations().iter().flat_map(|r| r.instances()) {
        let profile = i
            .iam_instance_profile()
            .and_then(|p| p.arn())
            .unwrap_or_default();
        assert!(profile.contains(":instance-profile/"), "{i:?}");
    }
    let zones = p.route53().await.list_hosted_zones().send().await.unwrap();
    assert!(
        zones
            .hosted_zones()
            .iter()
            .any(|z| z.name() == "qa.shop.example.com."),
        "{zones:?}"
    );
}

async fn full_cycle(kind: Kind, tag: &str) {
    ensure_bucket().await;
    let canary = format!("canary-{tag}-{}-9f2c71", std::process::id());
    let mut w = World::new(kind, tag);

    // The app before its network exists: a clear error naming the reference.
    w.set_secret("app:db_password", &canary);
    let o = w.app(&["up", "--yes"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains(&format!("stack reference {}", w.net_stack))
            && t.contains("run `up` for it first"),
        "{t}"
    );

    let o = w.net(&["up", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    // Secrets are per property: the plan masks the app instances' user data
    // (built from the secret) and shows the rest of them.
    let o = w.app(&["preview", "--diff"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("+ user_data: [secret]"), "{t}");
    assert!(t.contains("+ ami: \"ami-"), "{t}");
    assert!(t.contains("+ subnet_id: \"subnet-"), "{t}");
    assert!(t.contains("+ instance_type: \""), "{t}");
    let o = w.app(&["up", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        live(&w.app_stack).await,
        (4, 5, 1, 0),
        "2 app instances + bastion + 1 web instance (its Auto Scaling group's), 5 groups (app, bastion, load balancer, web, database), 1 EIP"
    );
    // The environment around the instances: the site's name, the load
    // balancer forwarding to the app instances, the database, the bucket.
    environment_is_whole(&mut w).await;

    for o in [
        w.net(&["preview", "--expect-no-changes"]),
        w.app(&["preview", "--expect-no-changes"]),
        w.app(&["preview", "--json", "--diff", "--expect-no-changes"]),
        w.app(&["up", "--yes", "--json"]),
        w.app(&["refresh", "--yes", "--json"]),
    ] {
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }

    let o = w.app(&["outputs", "--json"]);
    let outs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids = outs["app_instance_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 2);
    assert!(
        ids.iter().all(|i| i.as_str().unwrap().starts_with("i-")),
        "{outs}"
    );
    assert!(
        outs["bastion_public_ip"].as_str().unwrap().contains('.'),
        "{outs}"
    );
    // What is not secret is never masked, not even after the sealed user
    // data was opened (and registered for redaction): a no-change `up`
    // prints the instance ids in clear, and nothing as [secret].
    let o = w.app(&["up", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let shown = String::from_utf8_lossy(&o.stdout);
    for id in ids {
        assert!(shown.contains(id.as_str().unwrap()), "{shown}");
    }
    assert!(!shown.contains("[secret]"), "{shown}");
    // The app instances are in the network's private subnets.
    let net_outs = w.net(&["outputs", "--json"]);
    let net_outs: serde_json::Value = serde_json::from_slice(&net_outs.stdout).unwrap();
    let private: Vec<String> =
        serde_json::from_value(net_outs["private_subnet_ids"].clone()).unwrap();
    let c = ec2().await;
    let described = c
        .describe_instances()
        .set_instance_ids(Some(
            ids.iter()
                .map(|i| i.as_str().unwrap().to_string())
                .collect(),
        ))
        .send()
        .await
        .unwrap();
    let mut subnets: Vec<String> = described
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter(|i| ids.iter().any(|x| x.as_str() == i.instance_id()))
        .map(|i| i.subnet_id().unwrap().to_string())
        .collect();
    subnets.sort();
    let mut expected = private.clone();
    expected.sort();
    assert_eq!(subnets, expected, "one app instance per private subnet");

    // A failed update rolls back: a new SSH range (its rule is replaced,
    // deleting first) and an instance type EC2 does not have (the app
    // instances' replacements are refused) → exit 6, and EC2 has what it
    // had: the same instances, the same rules.
    let before = ec2_view(&w.app_stack).await;
    let file = w.app_dir.join(format!("Mkso.{}.yaml", w.app_stack));
    let config = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, failing_update(&config)).unwrap();
    let o = w.app(&["up", "--yes", "--rollback-on-failure"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(6), "{t}");
    assert!(
        t.contains("The instance type 't3.nonexistent' does not exist"),
        "{t}"
    );
    assert!(!t.contains("gave up"), "refused at once, not retried: {t}");
    assert!(t.contains("recreate app-ssh"), "{t}");
    assert!(t.contains("rolled back: "), "{t}");
    assert_eq!(
        ec2_view(&w.app_stack).await,
        before,
        "EC2 as before the update"
    );
    let o = w.app(&["outputs", "--json"]);
    let after: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(after["app_instance_ids"], outs["app_instance_ids"]);
    std::fs::write(&file, config).unwrap();
    let o = w.app(&["preview", "--expect-no-changes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Wrong or missing passphrase: a clear error naming the variable, no change.
    let o = w.app_with(
        &["preview"],
        &[("MKSO_PASSPHRASE", Some("wrong passphrase"))],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("MKSO_PASSPHRASE is not the passphrase"),
        "{}",
        text(&o)
    );
    let o = w.app_with(&["preview"], &[("MKSO_PASSPHRASE", None)]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("set MKSO_PASSPHRASE"), "{}", text(&o));

    w.destroy_both().await;

    // The canary: nowhere in what was printed (debug logs included), the
    // state (snapshots, journals, history) or the stack files.
    assert!(w.printed.contains("DEBUG"), "debug logging was on");
    let artifacts = w.artifacts().await;
    assert!(
        artifacts.contains("$mkso:secret"),
        "the user data was recorded, sealed"
    );
    for (what, text) in [
        ("printed output", &w.printed),
        ("state and stack files", &artifacts),
    ] {
        assert!(!text.contains(&canary), "the secret appears in the {what}");
    }
    // Only --show-secrets reveals it.
    let o = w.app(&["config", "get", "app:db_password"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[secret]");
    let o = w.app(&["config", "get", "app:db_password", "--show-secrets"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), canary);
}

/// Reads a child's `--json` event stream until a line contains `marker`,
/// waits `then`, and kills it (SIGKILL). Returns the events it read and how
/// the child ended.
fn kill_after(
    marker: &str,
    then: std::time::Duration,
    mut child: std::process::Child,
) -> (String, std::process::ExitStatus) {
    use std::io::BufRead;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut seen = String::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(marker) {
            std::thread::sleep(then);
            let _ = child.kill();
            break;
        }
    }
    (seen, child.wait().unwrap())
}

/// kill -9 during a rollback, then `up`: converges, with no orphan and no
/// duplicate. A fault proxy in front of moto makes each mutating call slow,
/// so the kill lands while a revert's call is in flight: once before moto
/// acted on it, once after (its answer not yet read).
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_a_rollback_then_up_converges() {
    use mkso_fault_proxy::{Api, FaultProxy, Faults};
    use std::time::Duration;

    let mut w = World::both_up("Kill");
    let before = ec2_view(&w.app_stack).await;
    assert_eq!(before.0, (4, 5, 1, 0), "{before:?}");
    let ids = |w: &mut World| {
        let o = w.app(&["outputs", "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["app_instance_ids"].clone()
    };
    let instance_ids = ids(&mut w);

    let file = w.app_dir.join(format!("Mkso.{}.yaml", w.app_stack));
    let config = std::fs::read_to_string(&file).unwrap();
    let bad = failing_update(&config);
    let slow = Duration::from_millis(1500);
    for (when, resolved, faults) in [
        (
            "before moto acted",
            "will be tried again",
            Faults {
                delay_before: slow,
                ..Faults::default()
            },
        ),
        (
            "after moto acted",
            "had completed",
            Faults {
                delay_after: slow,
                ..Faults::default()
            },
        ),
    ] {
        let proxy = FaultProxy::start(&moto(), Api::Ec2, faults).await.unwrap();
        std::fs::write(&file, &bad).unwrap();
        let child = w
            .cmd(
                APP,
                &w.app_dir,
                &w.app_stack,
                &["up", "--yes", "--rollback-on-failure", "--json"],
            )
            .env("AWS_ENDPOINT_URL", proxy.url())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (seen, status) = tokio::task::spawn_blocking(move || {
            // Its first call is then in flight (each takes 1.5 s).
            kill_after("\"revert_started\"", Duration::from_millis(500), child)
        })
        .await
        .unwrap();
        assert!(
            seen.contains("\"revert_started\"") && !seen.contains("\"rollback_finished\""),
            "{when}: killed during the rollback (events flushed as they happen): {seen}"
        );
        assert_eq!(status.code(), None, "{when}: killed, not exited: {seen}");
        drop(proxy);

        // Without the bad input, one `up` (taking over the dead process's
        // lock) converges: the same instances, the same rules, nothing more.
        std::fs::write(&file, &config).unwrap();
        let o = w.app(&["up", "--yes"]);
        let t = text(&o);
        assert!(o.status.success(), "{when}: {t}");
        assert!(t.contains("took over the lock of"), "{when}: {t}");
        assert!(
            t.contains(&format!("the interrupted delete of `app-ssh` {resolved}")),
            "{when}: the revert in flight is resolved: {t}"
        );
        let o = w.app(&["preview", "--expect-no-changes"]);
        assert_eq!(o.status.code(), Some(0), "{when}: {}", text(&o));
        assert_eq!(
            ec2_view(&w.app_stack).await,
            before,
            "{when}: EC2 as before the update, no orphan, no duplicate"
        );
        assert_eq!(ids(&mut w), instance_ids, "{when}");
    }

    w.destroy_both().await;
}

/// How many of each kind [`in_services`] finds tagged with `stack`.
async fn service_counts(stack: &str) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for item in in_services(stack).await {
        let kind = item
            .rsplit_once(' ')
            .map_or(item.as_str(), |(k, _)| k)
            .to_string();
        *counts.entry(kind).or_insert(0) += 1;
    }
    counts
}

/// kill -9 of `aws_app up` while the create of its load balancer, its
/// database, its bucket or its Auto Scaling group is in flight (moto has
/// acted, its answer not yet read), then `up`: converges with exactly one of
/// each — the interrupted create's result adopted by its name and tag, not
/// made a second time.
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_the_app_up_then_up_converges_without_duplicates() {
    use mkso_fault_proxy::{Api, FaultProxy, Faults};
    use std::time::Duration;

    let mut w = World::new(Kind::Local, "Kill9");
    w.set_secret("app:db_password", "not the canary");
    let o = w.net(&["up", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let one_each: std::collections::BTreeMap<String, usize> = [
        "Auto Scaling group",
        "DB subnet group",
        "bucket",
        "database",
        "hosted zone",
        "instance profile",
        "load balancer",
        "policy",
        "role",
        "target group",
    ]
    .into_iter()
    .map(|k| (k.to_string(), 1))
    .collect();
    for point in [
        "aws:elbv2:LoadBalancer::web/alb",
        "aws:rds:DbInstance::db/instance",
        "aws:s3:Bucket::assets",
        "aws:autoscaling:AutoScalingGroup::web/asg",
    ] {
        // Every changing call answers 2 s after moto acted: the kill lands
        // while the create of `point` has happened, unanswered.
        let proxy = FaultProxy::start(
            &moto(),
            Api::Ec2,
            Faults {
                delay_after: Duration::from_millis(2000),
                ..Faults::default()
            },
        )
        .await
        .unwrap();
        let child = w
            .cmd(APP, &w.app_dir, &w.app_stack, &["up", "--yes", "--json"])
            .env("AWS_ENDPOINT_URL", proxy.url())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let marker = format!("{point}\",\"op\":\"create\"");
        let (seen, status) = tokio::task::spawn_blocking(move || {
            kill_after(&marker, Duration::from_millis(1000), child)
        })
        .await
        .unwrap();
        assert_eq!(status.code(), None, "{point}: killed, not exited: {seen}");
        drop(proxy);

        let o = w.app(&["up", "--yes"]);
        let t = text(&o);
        assert!(o.status.success(), "{point}: {t}");
        assert!(t.contains("took over the lock of"), "{point}: {t}");
        let o = w.app(&["preview", "--expect-no-changes"]);
        assert_eq!(o.status.code(), Some(0), "{point}: {}", text(&o));
        assert_eq!(
            service_counts(&w.app_stack).await,
            one_each,
            "{point}: exactly one of each, no duplicate"
        );
        assert_eq!(live(&w.app_stack).await, (4, 5, 1, 0), "{point}");
        let o = w.app(&["destroy", "--yes"]);
        assert!(o.status.success(), "{point}: {}", text(&o));
        assert!(service_counts(&w.app_stack).await.is_empty(), "{point}");
    }
    w.destroy_both().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn network_then_app_on_the_s3_backend() {
    full_cycle(Kind::S3, "s").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn network_then_app_on_the_local_backend() {
    full_cycle(Kind::Local, "l").await;
}

/// `data_bench` on a backend (S3 on moto, or local).
fn bench(backend_url: &str, stack: &str, args: &[&str]) -> Command {
    let mut c = Command::new(BENCH);
    c.args(args)
        .args(["--stack", stack])
        .env("MKSO_BACKEND_URL", backend_url)
        .env("AWS_ENDPOINT_URL", moto())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("MKSO_STACK")
        .stdin(Stdio::null());
    c
}

/// 20 processes run `up` on one stack at once: one proceeds, the others stop
/// at once naming the holder, and the state is what the winner wrote.
fn lock_race(backend_url: &str, tag: &str) {
    let stack = format!("bench.race.{tag}{}", std::process::id());
    // A copy of data_bench's project, where the new stack is created first.
    let project = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/data_bench/Mkso.yaml"),
        project.path().join("Mkso.yaml"),
    )
    .unwrap();
    let bench = |backend_url: &str, stack: &str, args: &[&str]| {
        let mut c = bench(backend_url, stack, args);
        c.env("MKSO_PROJECT_DIR", project.path());
        c
    };
    let o = bench(backend_url, &stack, &["stack", "init"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let children: Vec<std::process::Child> = (0..20)
        .map(|_| {
            bench(backend_url, &stack, &["up", "--yes"])
                .env("MKSO_CONFIG__BENCH__COUNT", "3")
                .env("MKSO_CONFIG__BENCH__SHAPE", "chain")
                // The winner holds the lock for ~6 s (3 steps in a chain).
                .env("MKSO_CONFIG__BENCH__LATENCY_MS", "2000")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let pids: Vec<u32> = children.iter().map(|c| c.id()).collect();
    let mut results: Vec<(u32, Output)> = Vec::new();
    let mut order = Vec::new();
    let mut pending: Vec<(u32, std::process::Child)> = pids.iter().copied().zip(children).collect();
    // Record the order in which they end.
    while !pending.is_empty() {
        let mut i = 0;
        while i < pending.len() {
            if pending[i].1.try_wait().unwrap().is_some() {
                let (pid, child) = pending.remove(i);
                order.push(pid);
                results.push((pid, child.wait_with_output().unwrap()));
            } else {
                i += 1;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let winners: Vec<&(u32, Output)> = results.iter().filter(|(_, o)| o.status.success()).collect();
    assert_eq!(winners.len(), 1, "exactly one proceeds");
    let winner = winners[0].0;
    for (pid, o) in &results {
        if *pid == winner {
            continue;
        }
        assert_eq!(o.status.code(), Some(4), "{}", text(o));
        let t = text(o);
        assert!(
            t.contains("is locked by ")
                && t.contains(&format!("(pid {winner})"))
                && t.contains("since "),
            "the error names the holder: {t}"
        );
    }
    // The others did not wait for the lock: they all ended before the winner.
    assert_eq!(
        order.last(),
        Some(&winner),
        "the winner ends last: {order:?}"
    );
    // The state is what the winner wrote: one update, three resources.
    let o = bench(backend_url, &stack, &["state", "export"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let snap: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(snap["resources"].as_array().unwrap().len(), 3, "{snap}");
    assert_eq!(snap["serial"], 1, "one update wrote the state");
    let o = bench(backend_url, &stack, &["history", "--json"])
        .output()
        .unwrap();
    let h: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(h.as_array().map(Vec::len), Some(1), "{h}");
}

#[test]
fn twenty_processes_race_for_the_lock_on_s3() {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(ensure_bucket());
    lock_race(&format!("s3://{BUCKET}/race-{}", std::process::id()), "s");
}

#[test]
fn twenty_processes_race_for_the_lock_locally() {
    let d = tempfile::tempdir().unwrap();
    lock_race(&format!("file://{}", d.path().display()), "l");
}

/// The `watch_round` events of a `watch --json` run: (drifted, repaired, failing).
fn watch_rounds(o: &Output) -> Vec<(u64, u64, u64)> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "watch_round")
        .map(|e| {
            let n = |k: &str| e[k].as_u64().unwrap_or(u64::MAX);
            (n("drifted"), n("repaired"), n("failing"))
        })
        .collect()
}

/// The network's route to the internet: (route table id, whether it is there).
async fn internet_route(stack: &str) -> Vec<(String, bool)> {
    let c = ec2().await;
    c.describe_route_tables()
        .filters(of_stack(stack))
        .send()
        .await
        .unwrap()
        .route_tables()
        .iter()
        .filter(|t| {
            t.tags()
                .iter()
                .any(|tag| tag.value().is_some_and(|v| v.contains("public")))
        })
        .map(|t| {
            let has = t.routes().iter().any(|r| {
                r.destination_cidr_block() == Some("0.0.0.0/0")
                    && r.gateway_id().is_some_and(|g| g.starts_with("igw-"))
            });
            (t.route_table_id().unwrap_or_default().to_string(), has)
        })
        .collect()
}

/// The `Name` tags of the network's subnets, sorted.
async fn subnet_names(stack: &str) -> Vec<String> {
    let c = ec2().await;
    let mut names: Vec<String> = c
        .describe_subnets()
        .filters(of_stack(stack))
        .send()
        .await
        .unwrap()
        .subnets()
        .iter()
        .flat_map(|s| s.tags())
        .filter(|t| t.key() == Some("Name"))
        .filter_map(|t| t.value().map(String::from))
        .collect();
    names.sort();
    names
}

/// Deletes the route to the internet, renames a subnet (its `Name` tag,
/// which mkso manages) and deletes one ingress rule of the app behind
/// mkso's back (with the SDK); returns the ingress ranges before.
async fn delete_route_and_rule(w: &World) -> Vec<String> {
    let c = ec2().await;
    let subnet = c
        .describe_subnets()
        .filters(of_stack(&w.net_stack))
        .send()
        .await
        .unwrap()
        .subnets()[0]
        .subnet_id()
        .unwrap()
        .to_string();
    c.create_tags()
        .resources(subnet)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("Name")
                .value("hacked")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        subnet_names(&w.net_stack)
            .await
            .contains(&"hacked".to_string())
    );
    let routes = internet_route(&w.net_stack).await;
    assert_eq!(routes.len(), 1, "one public route table: {routes:?}");
    assert!(routes[0].1, "{routes:?}");
    c.delete_route()
        .route_table_id(&routes[0].0)
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    assert!(!internet_route(&w.net_stack).await[0].1, "deleted");
    let before = ingress(&w.app_stack).await;
    let groups = c
        .describe_security_groups()
        .filters(of_stack(&w.app_stack))
        .send()
        .await
        .unwrap();
    let (group, permission) = groups
        .security_groups()
        .iter()
        .find_map(|g| {
            Some((
                g.group_id()?.to_string(),
                g.ip_permissions()
                    .iter()
                    .find(|p| !p.ip_ranges().is_empty())?
                    .clone(),
            ))
        })
        .expect("an app group with an ingress rule from a range");
    c.revoke_security_group_ingress()
        .group_id(group)
        .ip_permissions(permission)
        .send()
        .await
        .unwrap();
    assert_ne!(ingress(&w.app_stack).await, before, "revoked");
    before
}

/// `watch` puts back a route and a security-group rule deleted behind
/// mkso's back within two rounds; the second round finds nothing to do; a
/// watch killed (SIGKILL) in the middle of a repair leaves a state the next
/// `up` converges from.
#[tokio::test(flavor = "multi_thread")]
async fn watch_puts_back_what_was_deleted_behind_its_back() {
    use std::time::Duration;

    let mut w = World::both_up("Watch");
    let before = ec2_view(&w.app_stack).await;
    let names = subnet_names(&w.net_stack).await;

    let ranges = delete_route_and_rule(&w).await;
    let watch = ["watch", "--interval", "2s", "--rounds", "2", "--json"];
    let o = w.net(&watch);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        watch_rounds(&o),
        vec![(2, 2, 0), (0, 0, 0)],
        "the route found deleted and recreated, the subnet's name set back in round 1, nothing to do in round 2: {}",
        text(&o)
    );
    let o = w.app(&watch);
    assert!(o.status.success(), "{}", text(&o));
    let rounds = watch_rounds(&o);
    assert_eq!(rounds.len(), 2, "{}", text(&o));
    assert!(
        rounds[0].0 >= 1 && rounds[0].1 >= 1 && rounds[0].2 == 0,
        "the rule: drift found and repaired in round 1: {rounds:?} {}",
        text(&o)
    );
    assert_eq!(rounds[1], (0, 0, 0), "{}", text(&o));
    assert!(internet_route(&w.net_stack).await[0].1, "the route is back");
    assert_eq!(
        subnet_names(&w.net_stack).await,
        names,
        "the subnet's name is back"
    );
    assert_eq!(ingress(&w.app_stack).await, ranges, "the rule is back");
    for o in [
        w.net(&["preview", "--expect-no-changes"]),
        w.app(&["preview", "--expect-no-changes"]),
    ] {
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    // Rounds that changed something are in the history; quiet ones are not.
    let o = w.net(&["history", "--json"]);
    let h = String::from_utf8_lossy(&o.stdout);
    assert_eq!(h.matches("\"kind\": \"watch\"").count(), 1, "{h}");

    // Human output: one line per round.
    delete_route_and_rule(&w).await;
    let o = w.net(&["watch", "--once"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("watch round 1: drifted 2, repaired 2, failing 0"),
        "{t}"
    );

    // kill -9 of a watch while it repairs, then `up` converges.
    let child = w
        .cmd(
            APP,
            &w.app_dir,
            &w.app_stack,
            &["watch", "--interval", "1s", "--rounds", "3", "--json"],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (seen, status) = tokio::task::spawn_blocking(move || {
        // After the round's refresh recorded the drift and planned the repair.
        kill_after("\"plan_ready\"", Duration::from_millis(5), child)
    })
    .await
    .unwrap();
    assert_eq!(status.code(), None, "killed: {seen}");
    let o = w.app(&["up", "--yes"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("took over the lock of"), "{t}");
    let o = w.app(&["preview", "--expect-no-changes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(ingress(&w.app_stack).await, ranges);
    assert_eq!(
        ec2_view(&w.app_stack).await.0,
        before.0,
        "no orphan, no duplicate"
    );

    w.destroy_both().await;
}

/// The app instances of `stack` that are running: (name from the
/// `mkso:urn` tag, instance id, AMI).
async fn running_app_instances(stack: &str) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = instances_of(stack)
        .await
        .iter()
        .filter(|(state, _)| state == "running")
        .filter_map(|(_, i)| {
            let urn = i
                .tags()
                .iter()
                .find(|t| t.key() == Some("mkso:urn"))?
                .value()?;
            let name = urn.rsplit("::").next()?;
            name.starts_with("app-").then(|| {
                (
                    name.to_string(),
                    i.instance_id().unwrap_or_default().to_string(),
                    i.image_id().unwrap_or_default().to_string(),
                )
            })
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_ami_rolls_through_the_app_instances_one_at_a_time() {
    use std::time::Duration;

    const NEW_AMI: &str = "ami-1e749f67";
    let mut w = World::both_up("Roll");
    let before = running_app_instances(&w.app_stack).await;
    let n = before.len();
    assert_eq!(n, 2, "QA has 2 app instances: {before:?}");
    let file = w.app_dir.join(format!("Mkso.{}.yaml", w.app_stack));
    let config = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, config.replace("ami-12c6146b", NEW_AMI)).unwrap();

    let o = w.app(&["preview"]);
    let t = text(&o);
    assert!(
        t.contains(
            "Rolling groups:\n  app: replace 2 in 2 batches of 1 (max unavailable 1, max surge 1)"
        ),
        "{t}"
    );

    // `up`, while EC2 is watched: the running app instances, every 50 ms.
    // (Its output goes to files: a pipe nobody reads while it runs fills
    // up and blocks it.)
    let out_dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (out_dir.path().join("out"), out_dir.path().join("err"));
    let mut child = w
        .cmd(APP, &w.app_dir, &w.app_stack, &["up", "--yes"])
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let mut seen: Vec<Vec<(String, String, String)>> = Vec::new();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        seen.push(running_app_instances(&w.app_stack).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let printed = format!(
        "{}{}",
        std::fs::read_to_string(&out_path).unwrap(),
        std::fs::read_to_string(&err_path).unwrap()
    );
    assert!(status.success(), "{printed}");
    let counts: Vec<usize> = seen.iter().map(Vec::len).collect();
    assert!(
        counts.iter().all(|&c| c >= n),
        "fewer than {n} app instances were running at some moment: {counts:?}"
    );
    assert!(
        counts.iter().all(|&c| c <= n + 1),
        "more than one extra app instance at some moment: {counts:?}"
    );
    assert!(
        seen.iter().any(|s| s.len() == n + 1),
        "the surge copy was seen: {counts:?}"
    );
    for line in [
        "rolling group app: batch 1 of 2 starts (app-0)",
        "rolling group app: batch 1 of 2 ready (1 member(s))",
        "rolling group app: batch 2 of 2 starts (app-1)",
        "rolling group app: batch 2 of 2 ready (1 member(s))",
    ] {
        assert!(printed.contains(line), "{line}: {printed}");
    }
    let start_2 = printed.find("batch 2 of 2 starts").unwrap();
    let end_1 = printed.find("batch 1 of 2 ready").unwrap();
    assert!(end_1 < start_2, "{printed}");

    // Afterwards: all on the new AMI, new ids, nothing left over.
    let after = running_app_instances(&w.app_stack).await;
    assert_eq!(after.len(), n, "{after:?}");
    assert!(after.iter().all(|(_, _, ami)| ami == NEW_AMI), "{after:?}");
    assert!(after.iter().all(|a| !before.iter().any(|b| b.1 == a.1)));
    assert_eq!(
        live(&w.app_stack).await,
        (n + 2, 5, 1, 0),
        "the app instances, the bastion, the web instance, 5 groups, its address: no orphan"
    );
    let o = w.app(&["preview", "--expect-no-changes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The history's timeline names each step's batch.
    let o = w.app(&["history", "show", "2"]);
    let t = text(&o);
    assert!(t.contains("replace (app batch 1/2)"), "{t}");
    assert!(t.contains("replace (app batch 2/2)"), "{t}");

    w.destroy_both().await;
}
