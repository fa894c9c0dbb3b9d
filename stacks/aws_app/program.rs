//! The `aws_app` program: a three-tier application environment on the
//! network of `aws.network.<environment>`, read through a stack reference.
//!
//! - `web`, an [`AwsWebService`]: an internet-facing load balancer in the
//!   public subnets forwarding HTTP to an Auto Scaling group of web
//!   instances (`app:web_min_size` to `app:web_max_size`) in the private
//!   subnets, which take HTTP from the load balancer only;
//! - `app:instances` app instances spread across the network's private
//!   subnets, taking the app port (8080) from the web instances only and SSH
//!   only from `app:ssh_cidr`; their user data carries the database password
//!   (`app:db_password`, a secret config value, so the user data is secret
//!   too); they are a rolling group `app`: a new AMI replaces them one at a
//!   time, each new instance running before the old one goes;
//! - an instance role (`app-role`, through the instance profile
//!   `app-profile`) that may read the assets bucket `assets` (S3), taken by
//!   the web and the app instances;
//! - `db`, an [`AwsPostgres`]: Postgres in the private subnets, reachable
//!   from the app instances only, its master password the secret;
//! - a hosted zone for `app:domain` and `www.<domain>`, an alias of the load
//!   balancer;
//! - a bastion instance in the first public subnet, with an Elastic IP,
//!   SSH only from `app:ssh_cidr`.
//!
//! Exports the site's DNS name, the load balancer's, the database endpoint,
//! the assets bucket, the zone's name servers, the app instances' ids and
//! the bastion's public IP.

use std::collections::BTreeMap;

use mkso::prelude::*;
use mkso::rolling::RollingPolicy;
use mkso::secrets::Secret;
use mkso_components::{
    AutoScalingTargets, AwsPostgres, AwsPostgresArgs, AwsWebService, AwsWebServiceArgs, WebTargets,
};
use mkso_providers_aws::{
    Bucket, BucketArgs, Eip, EipArgs, HostedZone, HostedZoneArgs, Instance, InstanceArgs,
    InstanceProfile, InstanceProfileArgs, Policy, PolicyArgs, Record, RecordArgs, Role, RoleArgs,
    RolePolicyAttachment, RolePolicyAttachmentArgs, SecurityGroup, SecurityGroupArgs,
    SecurityGroupRule, SecurityGroupRuleArgs,
};

/// The `app` config namespace.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// How many app instances (spread across the private subnets).
    pub instances: u32,
    /// Their instance type.
    pub instance_type: String,
    /// The machine image of the app and bastion instances.
    pub ami: String,
    /// Where SSH may come from (CIDR), e.g. the office's range.
    pub ssh_cidr: String,
    /// The database password (set with `config set --secret app:db_password`).
    pub db_password: Secret<String>,
    /// The network stack to run on (default `aws.network.<environment>`).
    #[serde(default)]
    pub network_stack: Option<String>,
    /// The environment's domain: a hosted zone of its own, the site at
    /// `www.<domain>`.
    pub domain: String,
    /// The database's instance class (default `db.t3.micro`).
    #[serde(default = "default_db_class")]
    pub db_instance_class: String,
    /// The database's storage in GiB (default 20; it only grows).
    #[serde(default = "default_db_storage")]
    pub db_storage: i32,
    /// A standby database in another zone (default no).
    #[serde(default)]
    pub db_multi_az: bool,
    /// Refuse to delete the database (default no).
    #[serde(default)]
    pub db_deletion_protection: bool,
    /// Delete the database without a final snapshot (default no).
    #[serde(default)]
    pub db_skip_final_snapshot: bool,
    /// Delete the assets bucket with what it holds (default no: a bucket
    /// that holds objects is not deleted).
    #[serde(default)]
    pub assets_force_destroy: bool,
    /// The web instances' type (default `t3.micro`).
    #[serde(default = "default_web_type")]
    pub web_instance_type: String,
    /// The fewest web instances (default 2).
    #[serde(default = "default_web_min")]
    pub web_min_size: i32,
    /// The most web instances (default 4).
    #[serde(default = "default_web_max")]
    pub web_max_size: i32,
}

fn default_web_type() -> String {
    "t3.micro".to_string()
}

fn default_web_min() -> i32 {
    2
}

fn default_web_max() -> i32 {
    4
}

/// The port the app instances serve the web tier on.
const APP_PORT: i32 = 8080;

fn default_db_class() -> String {
    "db.t3.micro".to_string()
}

fn default_db_storage() -> i32 {
    20
}

/// The instance role's trust policy: EC2 instances take it.
fn ec2_trust() -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole"
        }]
    })
    .to_string()
}

/// Reading the assets bucket and what it holds.
fn read_bucket(bucket_arn: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": [bucket_arn, format!("{bucket_arn}/*")]
        }]
    })
    .to_string()
}

/// The user data of an app instance: the password reaches it as a secret.
fn user_data(env: &str, db_password: &Output<String>) -> Output<Option<String>> {
    let env = env.to_string();
    db_password.map(move |p| {
        Some(format!(
            "#!/bin/sh\nset -eu\ncat > /etc/app.env <<'ENV'\nAPP_ENV={env}\nDB_PASSWORD={p}\nENV\nsystemctl restart app\n"
        ))
    })
}

/// Declares the application environment and exports its ids.
pub fn program(stack: &Stack) -> Result<(), mkso::Error> {
    let app: AppConfig = stack.config("app")?;
    if app.instances == 0 || app.instances > 20 {
        return Err(mkso::Error::program(format!(
            "config key `app:instances` is {}: use 1 to 20 instances",
            app.instances
        )));
    }
    if app.ssh_cidr.parse::<ipnet::IpNet>().is_err() {
        return Err(mkso::Error::program(format!(
            "config key `app:ssh_cidr` is `{}`, not a CIDR range such as 203.0.113.0/24",
            app.ssh_cidr
        )));
    }
    let env = stack.environment().to_string();
    let network_stack = app
        .network_stack
        .clone()
        .unwrap_or_else(|| format!("aws.network.{env}"));
    let net = stack.reference(&network_stack)?;
    let vpc_id: Output<String> = net.output("vpc_id")?;
    let private: Output<Vec<String>> = net.output("private_subnet_ids")?;
    let public: Output<Vec<String>> = net.output("public_subnet_ids")?;
    let tags = BTreeMap::from([("App".to_string(), "web".to_string())]);

    let app_sg = SecurityGroup::new(
        stack,
        "app-sg",
        SecurityGroupArgs::builder()
            .description(Some(format!("app instances of {env}")))
            .vpc_id(vpc_id.clone())
            .tags(tags.clone()),
        ResourceOptions::new(),
    )?;
    let bastion_sg = SecurityGroup::new(
        stack,
        "bastion-sg",
        SecurityGroupArgs::builder()
            .description(Some(format!("bastion of {env}")))
            .vpc_id(vpc_id.clone())
            .tags(tags.clone()),
        ResourceOptions::new(),
    )?;
    let rule = |name: &str, sg: &SecurityGroup, port: i32, cidr: &str, what: &str| {
        SecurityGroupRule::new(
            stack,
            name,
            SecurityGroupRuleArgs::builder()
                .security_group_id(sg.id())
                .direction("ingress")
                .protocol("tcp")
                .from_port(port)
                .to_port(port)
                .cidr_blocks(vec![cidr.to_string()])
                .description(Some(what.to_string())),
            ResourceOptions::new(),
        )
    };
    rule(
        "app-ssh",
        &app_sg,
        22,
        &app.ssh_cidr,
        "SSH from the admin range",
    )?;
    rule(
        "bastion-ssh",
        &bastion_sg,
        22,
        &app.ssh_cidr,
        "SSH from the admin range",
    )?;

    // The assets bucket, and the role the app instances take to read it.
    let assets = Bucket::new(
        stack,
        "assets",
        BucketArgs::builder()
            .versioning(true)
            .force_destroy(app.assets_force_destroy)
            .tags(tags.clone()),
        ResourceOptions::new(),
    )?;
    let role = Role::new(
        stack,
        "app-role",
        RoleArgs::builder()
            .assume_role_policy(ec2_trust())
            .description(Some(format!("app instances of {env}")))
            .tags(tags.clone()),
        ResourceOptions::new(),
    )?;
    let read_assets = Policy::new(
        stack,
        "read-assets",
        PolicyArgs::builder()
            .policy(assets.arn().map(|arn| read_bucket(&arn)))
            .tags(tags.clone()),
        ResourceOptions::new(),
    )?;
    RolePolicyAttachment::new(
        stack,
        "app-read-assets",
        RolePolicyAttachmentArgs::builder()
            .role(role.id())
            .policy_arn(read_assets.arn()),
        ResourceOptions::new(),
    )?;
    let profile = InstanceProfile::new(
        stack,
        "app-profile",
        InstanceProfileArgs::builder()
            .role(role.id().map(Some))
            .tags(tags.clone()),
        ResourceOptions::new(),
    )?;

    let password: Output<String> = app.db_password.clone().into();
    // A new AMI (or anything else that replaces them) rolls through the app
    // instances one at a time: a new one is created and running before its
    // old one is terminated, so all of them serve throughout.
    let rolling = stack.rolling_group(
        "app",
        RollingPolicy::new()
            .max_unavailable(1)
            .max_surge(1)
            .ready_timeout(std::time::Duration::from_secs(600)),
    )?;
    let mut ids = Vec::new();
    for i in 0..app.instances as usize {
        let subnet = private.try_map(move |s| {
            if s.is_empty() {
                Err("the network stack exports no private subnets".to_string())
            } else {
                Ok(Some(s[i % s.len()].clone()))
            }
        });
        let instance = Instance::new(
            stack,
            &format!("app-{i}"),
            InstanceArgs::builder()
                .ami(app.ami.clone())
                .instance_type(app.instance_type.clone())
                .subnet_id(subnet)
                .security_group_ids(app_sg.id().map(|id| vec![id]))
                .user_data(user_data(&env, &password))
                .iam_instance_profile(profile.arn().map(Some))
                .tags(tags.clone()),
            ResourceOptions::new().rolling_group(&rolling),
        )?;
        ids.push(instance.id());
    }
    let bastion = Instance::new(
        stack,
        "bastion",
        InstanceArgs::builder()
            .ami(app.ami.clone())
            .instance_type("t3.micro")
            .subnet_id(public.try_map(|s| {
                s.first()
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| "the network stack exports no public subnets".to_string())
            }))
            .security_group_ids(bastion_sg.id().map(|id| vec![id]))
            .tags(tags.clone()),
        ResourceOptions::new(),
    )?;
    let eip = Eip::new(
        stack,
        "bastion-eip",
        EipArgs::builder()
            .instance_id(bastion.id())
            .tags(tags.clone()),
        ResourceOptions::new(),
    )?;
    // The web tier: a load balancer in front of an Auto Scaling group; only
    // the load balancer reaches the web instances, only they the app ones.
    let mut web_args = AwsWebServiceArgs::new(
        vpc_id.clone(),
        public.clone(),
        private.clone(),
        WebTargets::AutoScaling(AutoScalingTargets {
            image_id: app.ami.clone(),
            instance_type: app.web_instance_type.clone(),
            user_data: Some(Output::new(format!(
                "#!/bin/sh\nset -eu\necho APP_ENV={env} > /etc/web.env\nsystemctl restart web\n"
            ))),
            iam_instance_profile_arn: Some(profile.arn()),
            min_size: app.web_min_size,
            max_size: app.web_max_size,
        }),
    );
    web_args.tags = tags.clone();
    let web = AwsWebService::new(stack, "web", web_args, ResourceOptions::new())?;
    SecurityGroupRule::new(
        stack,
        "app-from-web",
        SecurityGroupRuleArgs::builder()
            .security_group_id(app_sg.id())
            .direction("ingress")
            .protocol("tcp")
            .from_port(APP_PORT)
            .to_port(APP_PORT)
            .source_security_group_id(web.instance_security_group_id.map(Some))
            .description(Some("the app port from the web instances".to_string())),
        ResourceOptions::new(),
    )?;

    // The database, reachable from the app instances only.
    let mut db_args = AwsPostgresArgs::new(vpc_id, private, app_sg.id(), password);
    db_args.instance_class = app.db_instance_class.clone();
    db_args.allocated_storage = app.db_storage;
    db_args.multi_az = app.db_multi_az;
    db_args.deletion_protection = app.db_deletion_protection;
    db_args.skip_final_snapshot = app.db_skip_final_snapshot;
    db_args.tags = tags.clone();
    let db = AwsPostgres::new(stack, "db", db_args, ResourceOptions::new())?;

    // The environment's zone, and the site's name for the load balancer.
    let zone = HostedZone::new(
        stack,
        "zone",
        HostedZoneArgs::builder()
            .name(app.domain.clone())
            .comment(Some(format!("the {env} app environment")))
            .tags(tags.clone()),
        ResourceOptions::new(),
    )?;
    let site = Record::new(
        stack,
        "site",
        RecordArgs::builder()
            .zone_id(zone.zone_id())
            .name(format!("www.{}", app.domain))
            .record_type("A")
            .alias_name(web.dns_name.map(Some))
            .alias_zone_id(web.zone_id.map(Some)),
        ResourceOptions::new(),
    )?;

    stack.export("site", site.fqdn());
    stack.export("load_balancer", web.dns_name.clone());
    stack.export("db_endpoint", db.endpoint.clone());
    stack.export("assets_bucket", assets.id());
    stack.export("name_servers", zone.name_servers());
    // Only the instances' user data is secret: their ids are in clear.
    stack.export("app_instance_ids", Output::all_vec(ids));
    stack.export("bastion_id", bastion.id());
    stack.export("bastion_public_ip", eip.public_ip());
    Ok(())
}
