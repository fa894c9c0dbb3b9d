//! The `aws_network` stack binary against the EC2 emulator (moto), started by
//! `scripts/test.sh`: the full cycle, crash safety under SIGKILL, bad input.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use aws_sdk_ec2::types::Filter;

use crate::{ec2, moto, text};

const BIN: &str = env!("CARGO_BIN_EXE_aws_network");

/// A project directory with one stack config of our own (a unique stack
/// name keeps tests apart in the shared emulator).
fn project(dir: &Path, env: &str, config: &str) -> String {
    std::fs::write(dir.join("Mkso.yaml"), "name: aws-network\n").unwrap();
    // The process id keeps runs apart too (a failed run may leave resources).
    let stack = format!("aws.network.{env}{}", std::process::id());
    std::fs::write(dir.join(format!("Mkso.{stack}.yaml")), config).unwrap();
    stack
}

fn cmd(dir: &Path, stack: &str, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .args(["--stack", stack, "--project-dir", dir.to_str().unwrap()])
        .env(
            "MKSO_BACKEND_URL",
            format!("file://{}", dir.join("state").display()),
        )
        .env("AWS_ENDPOINT_URL", moto())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("MKSO_STACK")
        .stdin(Stdio::null());
    c
}

fn run(dir: &Path, stack: &str, args: &[&str]) -> Output {
    cmd(dir, stack, args).output().unwrap()
}

/// Resources tagged with the stack, by kind.
async fn tagged(stack: &str) -> Vec<(&'static str, usize)> {
    let c = ec2().await;
    let f = || {
        Filter::builder()
            .name("tag:mkso:stack")
            .values(stack)
            .build()
    };
    let vpcs = c
        .describe_vpcs()
        .filters(f())
        .send()
        .await
        .unwrap()
        .vpcs()
        .len();
    let subnets = c
        .describe_subnets()
        .filters(f())
        .send()
        .await
        .unwrap()
        .subnets()
        .len();
    let igws = c
        .describe_internet_gateways()
        .filters(f())
        .send()
        .await
        .unwrap()
        .internet_gateways()
        .len();
    let rts = c
        .describe_route_tables()
        .filters(f())
        .send()
        .await
        .unwrap()
        .route_tables()
        .len();
    let eips = c
        .describe_addresses()
        .filters(f())
        .send()
        .await
        .unwrap()
        .addresses()
        .len();
    let nats = c
        .describe_nat_gateways()
        .filter(f())
        .send()
        .await
        .unwrap()
        .nat_gateways()
        .iter()
        // Moto ignores filters on NAT gateways: check the tag here.
        .filter(|n| {
            n.tags()
                .iter()
                .any(|t| t.key() == Some("mkso:stack") && t.value() == Some(stack))
        })
        .filter(|n| n.state().map(|s| s.as_str()) != Some("deleted"))
        .count();
    vec![
        ("vpc", vpcs),
        ("subnet", subnets),
        ("igw", igws),
        ("route table", rts),
        ("eip", eips),
        ("nat", nats),
    ]
}

/// Fails naming what is left if anything tagged with `stack` remains.
async fn assert_nothing_left(stack: &str) {
    let left = tagged(stack).await;
    assert!(
        left.iter().all(|(_, n)| *n == 0),
        "left behind (orphans): {left:?}"
    );
}

const QA: &str =
    "config:\n  aws:region: us-east-1\n  network:cidr: 10.10.0.0/16\n  network:zones: 2\n";

#[tokio::test]
async fn up_outputs_no_changes_destroy_leaves_nothing() {
    let d = tempfile::tempdir().unwrap();
    let stack = project(d.path(), "E2eCycle", &format!("{QA}  network:nat: one\n"));
    let o = run(d.path(), &stack, &["up", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        tagged(&stack).await,
        vec![
            ("vpc", 1),
            ("subnet", 4),
            ("igw", 1),
            ("route table", 3),
            ("eip", 1),
            ("nat", 1)
        ]
    );
    let o = run(d.path(), &stack, &["outputs", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["vpc_id"].as_str().unwrap().starts_with("vpc-"), "{v}");
    assert_eq!(v["public_subnet_ids"].as_array().unwrap().len(), 2);
    assert_eq!(v["private_subnet_ids"].as_array().unwrap().len(), 2);
    let o = run(d.path(), &stack, &["preview", "--expect-no-changes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(d.path(), &stack, &["refresh", "--expect-no-changes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(d.path(), &stack, &["destroy", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_nothing_left(&stack).await;
}

#[tokio::test]
async fn sigkill_at_several_points_then_up_converges_without_duplicates() {
    let d = tempfile::tempdir().unwrap();
    let stack = project(
        d.path(),
        "E2eCrash",
        &format!("{QA}  network:nat: per_zone\n"),
    );
    for delay_ms in [150u64, 400, 700] {
        let mut child = cmd(d.path(), &stack, &["up", "--yes", "--parallel", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // A killed process leaves its lock: the next command names it; unlock breaks it.
        let _ = run(d.path(), &stack, &["unlock"]);
    }
    let o = run(d.path(), &stack, &["up", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(d.path(), &stack, &["preview", "--expect-no-changes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        tagged(&stack).await,
        vec![
            ("vpc", 1),
            ("subnet", 4),
            ("igw", 1),
            ("route table", 3),
            ("eip", 2),
            ("nat", 2)
        ],
        "exactly one of each: no duplicates, no orphans"
    );
    let o = run(d.path(), &stack, &["destroy", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_nothing_left(&stack).await;
}

const PRODUCTION: &str = "config:\n  aws:region: us-east-1\n  network:cidr: 10.20.0.0/16\n  network:zones: 3\n  network:nat: per_zone\n";

/// What `PRODUCTION` declares, by kind.
const PRODUCTION_TAGGED: [(&str, usize); 6] = [
    ("vpc", 1),
    ("subnet", 6),
    ("igw", 1),
    ("route table", 4),
    ("eip", 3),
    ("nat", 3),
];

/// Calls that fail and answers that are lost: through the fault proxy,
/// 15 % of the mutating calls fail before moto sees them and 15 % lose their
/// answer after moto acted. One `up` converges to exactly the declared
/// resources (no duplicate VPC, subnet, gateway, address or NAT), and one
/// `destroy` through the same faults leaves nothing.
#[tokio::test(flavor = "multi_thread")]
async fn lost_answers_and_failed_calls_converge_in_one_up() {
    use mkso_fault_proxy::{Api, FaultProxy, Faults};
    let d = tempfile::tempdir().unwrap();
    let stack = project(d.path(), "E2eLost", PRODUCTION);
    let faults = Faults {
        seed: 14,
        fail_before: 0.15,
        drop_after: 0.15,
        ..Faults::default()
    };
    let proxy = FaultProxy::start(&moto(), Api::Ec2, faults).await.unwrap();
    let through = |args: &[&str]| {
        cmd(d.path(), &stack, args)
            .env("AWS_ENDPOINT_URL", proxy.url())
            .output()
            .unwrap()
    };
    let o = through(&["up", "--yes"]);
    let stats = proxy.stats();
    assert!(o.status.success(), "{stats:?}\n{}", text(&o));
    assert!(
        stats.failed_before > 0 && stats.dropped_after > 0,
        "faults were injected: {stats:?}"
    );
    assert_eq!(
        tagged(&stack).await,
        PRODUCTION_TAGGED,
        "exactly the declared resources: {stats:?}"
    );
    let o = run(d.path(), &stack, &["preview", "--expect-no-changes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = through(&["destroy", "--yes"]);
    assert!(o.status.success(), "{:?}\n{}", proxy.stats(), text(&o));
    assert_nothing_left(&stack).await;
}

/// 20 SIGKILLs in a row at seeded random moments of `aws_network`
/// Production `up`s (no `unlock` or any other manual step between them: each
/// next `up` takes over the dead process's lock), then one `up` → exactly
/// the declared resources.
#[tokio::test(flavor = "multi_thread")]
async fn twenty_sigkills_in_a_row_then_one_up_converges() {
    use mkso_fault_proxy::{Api, FaultProxy, Faults};
    let d = tempfile::tempdir().unwrap();
    let stack = project(d.path(), "E2eKills", PRODUCTION);
    let mut rng = fastrand::Rng::with_seed(20);
    // Each answer to a mutating call comes 150 ms after moto acted, so most
    // kills land in the middle of a run, many between a call and its answer.
    let faults = Faults {
        delay_after: Duration::from_millis(150),
        ..Faults::default()
    };
    let proxy = FaultProxy::start(&moto(), Api::Ec2, faults).await.unwrap();
    let mut finished = 0;
    let file = d.path().join(format!("Mkso.{stack}.yaml"));
    for i in 0..20 {
        // Every run has work to do: NAT per zone, then one, then per zone...
        let nat = if i % 2 == 0 { "per_zone" } else { "one" };
        std::fs::write(&file, PRODUCTION.replace("per_zone", nat)).unwrap();
        let log = d.path().join("run.log");
        let out = std::fs::File::create(&log).unwrap();
        let mut child = cmd(d.path(), &stack, &["up", "--yes"])
            .env("AWS_ENDPOINT_URL", proxy.url())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.u64(30..1500)));
        let _ = child.kill();
        if let Some(code) = child.wait().unwrap().code() {
            // Ended before its kill: it must have succeeded (never refused
            // by the dead process's lock, exit 4).
            let printed = std::fs::read_to_string(&log).unwrap_or_default();
            assert_eq!(code, 0, "a run that ended by itself failed:\n{printed}");
            finished += 1;
        }
    }
    eprintln!("{finished} of the 20 runs finished before their kill");
    std::fs::write(&file, PRODUCTION).unwrap();
    let o = run(d.path(), &stack, &["up", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(d.path(), &stack, &["preview", "--expect-no-changes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        tagged(&stack).await,
        PRODUCTION_TAGGED,
        "exactly the declared resources ({finished} of the 20 runs finished before their kill)"
    );
    let o = run(d.path(), &stack, &["destroy", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_nothing_left(&stack).await;
}

#[tokio::test]
async fn bad_input_is_a_clear_error_with_state_intact() {
    let d = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &[&str], i32)] = &[
        (
            "BadCidr",
            "config:\n  aws:region: us-east-1\n  network:cidr: 10.0.0.0/33\n  network:zones: 2\n",
            &["10.0.0.0/33", "not an IPv4 CIDR"],
            2,
        ),
        (
            "NoFit",
            "config:\n  aws:region: us-east-1\n  network:cidr: 10.0.0.0/27\n  network:zones: 4\n",
            &["4 zones", "/28"],
            2,
        ),
        (
            "NoRegion",
            "config:\n  network:cidr: 10.0.0.0/16\n  network:zones: 2\n",
            &["`aws:region`", "MKSO_CONFIG__AWS__REGION"],
            2,
        ),
        (
            "Unreachable",
            "config:\n  aws:region: us-east-1\n  aws:endpoint: http://127.0.0.1:9\n  network:cidr: 10.0.0.0/16\n  network:zones: 1\n",
            &[
                "cannot reach the EC2 endpoint http://127.0.0.1:9",
                "gave up after",
            ],
            1,
        ),
    ];
    for (env, config, expect, code) in cases {
        let sub = d.path().join(env);
        std::fs::create_dir_all(&sub).unwrap();
        let stack = project(&sub, env, config);
        let o = run(&sub, &stack, &["up", "--yes"]);
        assert_eq!(o.status.code(), Some(*code), "{env}: {}", text(&o));
        for e in *expect {
            assert!(
                text(&o).contains(e),
                "{env}: expected `{e}` in: {}",
                text(&o)
            );
        }
        let o = run(&sub, &stack, &["state", "export"]);
        let snap: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(
            snap["resources"],
            serde_json::json!([]),
            "{env}: nothing recorded"
        );
        assert!(snap["pending"].is_null(), "{env}: nothing pending");
    }
}

/// The lock race of the careless-input issue, on EC2: `unlock` refuses a
/// running `up`; `unlock --force` then `destroy` while it runs. The fenced
/// `up` fails saying so, and after the next `up` and `destroy` nothing tagged
/// with the stack is left in the cloud: no resource was orphaned.
#[tokio::test]
async fn a_forced_unlock_during_up_orphans_nothing() {
    let d = tempfile::tempdir().unwrap();
    let stack = project(
        d.path(),
        "E2eFence",
        &format!("{QA}  network:nat: per_zone\n"),
    );
    let child = cmd(d.path(), &stack, &["up", "--yes", "--parallel", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let journal = d
        .path()
        .join("state/stacks")
        .join(&stack)
        .join("journal.log");
    for _ in 0..400 {
        if journal.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = run(d.path(), &stack, &["unlock"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(text(&o).contains("still running"), "{}", text(&o));
    let o = run(d.path(), &stack, &["unlock", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let destroy = run(d.path(), &stack, &["destroy", "--yes"]);
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}\ndestroy: {}",
        text(&o),
        text(&destroy)
    );
    assert!(text(&o).contains("was broken"), "{}", text(&o));
    assert!(!text(&o).contains("up succeeded"), "{}", text(&o));

    let o = run(d.path(), &stack, &["up", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(d.path(), &stack, &["preview", "--expect-no-changes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(d.path(), &stack, &["destroy", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_nothing_left(&stack).await;
}
