//! Each resource type against gcplocal: create, read (refresh), update where
//! the emulator allows, delete, import, drift, and names mkso does not own.

use std::collections::BTreeMap;

use mkso::engine::{DriftKind, Op};
use mkso::prelude::*;
use mkso_providers_gcp::*;
use reqwest::Method;

use crate::{Env, Program, op};

fn boxed(f: impl Fn(&Stack) -> Result<(), mkso::Error> + Send + Sync + 'static) -> Box<Program> {
    Box::new(f)
}

/// A firewall's `allowed`: TCP 22.
fn ssh() -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([("tcp".to_string(), vec!["22".to_string()])])
}

fn cluster(ports: &'static [&'static str], import_fw: Option<String>) -> Box<Program> {
    boxed(move |s| {
        let net = Network::new(s, "net", NetworkArgs::default(), ResourceOptions::new())?;
        let sub = Subnetwork::new(
            s,
            "sub",
            SubnetworkArgs::builder()
                .network(net.name())
                .ip_cidr_range("10.50.1.0/24"),
            ResourceOptions::new(),
        )?;
        let mut fo = ResourceOptions::new();
        if let Some(id) = &import_fw {
            fo = fo.import(id.clone());
        }
        let fw = Firewall::new(
            s,
            "fw",
            FirewallArgs::builder()
                .network(net.name())
                .allowed(BTreeMap::from([(
                    "tcp".to_string(),
                    ports.iter().map(|p| p.to_string()).collect(),
                )]))
                .source_ranges(vec!["203.0.113.0/24".to_string()])
                .target_tags(vec!["ssh".to_string()]),
            fo,
        )?;
        Instance::new(
            s,
            "vm",
            InstanceArgs::builder()
                .machine_type("e2-small")
                .source_image("projects/debian-cloud/global/images/family/debian-12")
                .network(net.name())
                .subnetwork(sub.name())
                .tags(vec!["ssh".to_string()])
                .labels(BTreeMap::from([("team".to_string(), "infra".to_string())])),
            ResourceOptions::new().depends_on(&fw),
        )?;
        Disk::new(
            s,
            "data",
            DiskArgs::builder().size_gb(10),
            ResourceOptions::new(),
        )?;
        Ok(())
    })
}

#[tokio::test]
async fn every_type_create_read_update_drift_delete() {
    let env = Env::new("Types");
    let p = cluster(&["22"], None);
    env.up(&*p).await;
    let net = env.id("net").await;
    assert!(
        net.starts_with("net-") && net.len() == "net-".len() + 8,
        "derived, stable name: {net}"
    );
    assert_eq!(env.list("global/networks").await, vec![net.clone()]);
    assert_eq!(env.list("regions/us-central1/subnetworks").await.len(), 1);
    assert_eq!(env.list("global/firewalls").await.len(), 1);
    assert_eq!(env.list("zones/us-central1-a/instances").await.len(), 1);
    assert_eq!(env.list("zones/us-central1-a/disks").await.len(), 1);
    // What the emulator holds records the owner, labels and tags.
    let vm_id = env.id("vm").await;
    let vm_name = vm_id.split('/').next_back().unwrap();
    let vm = env
        .http(
            Method::GET,
            &format!("zones/us-central1-a/instances/{vm_name}"),
            None,
        )
        .await;
    // (gcplocal drops instances' descriptions; the mkso-urn label records the owner too.)
    assert_eq!(
        vm["labels"]["mkso-urn"].as_str().map(str::len),
        Some(8),
        "{vm}"
    );
    let fw_got = env
        .http(
            Method::GET,
            &format!("global/firewalls/{}", env.id("fw").await),
            None,
        )
        .await;
    assert!(
        fw_got["description"]
            .as_str()
            .unwrap()
            .contains("mkso:urn=urn:mkso:gcp.test.Types"),
        "{fw_got}"
    );
    assert_eq!(vm["labels"]["environment"], "types");
    assert_eq!(vm["labels"]["mkso-stack"], "gcp-test-types");
    assert_eq!(vm["labels"]["team"], "infra");
    assert_eq!(vm["tags"]["items"][0], "ssh");

    // Read: no drift, no changes.
    assert!(env.refresh(&*p).await.drift.is_empty());
    assert!(!env.preview(&*p).await.has_changes());
    // The derived name is the same on every run (it comes from stack and urn).
    let again = Env::new("Types");
    assert_eq!(
        mkso_providers_gcp::derived_name(&mkso::provider::ResourceIdentity {
            urn: env
                .state()
                .await
                .live
                .keys()
                .find(|u| u.name() == "net")
                .unwrap()
                .clone(),
            type_token: Network::TYPE.into(),
            stack: again.stack.clone(),
        }),
        net
    );

    // Firewall rules change in place (PATCH).
    let p2 = cluster(&["22", "2222"], None);
    let plan = env.up(&*p2).await;
    assert_eq!(op(&plan, "fw"), Op::Update);
    let fw = env.id("fw").await;
    let got = env
        .http(Method::GET, &format!("global/firewalls/{fw}"), None)
        .await;
    assert_eq!(
        got["allowed"][0]["ports"],
        serde_json::json!(["22", "2222"]),
        "{got}"
    );

    // Drift: the firewall deleted behind mkso's back with a plain HTTP call.
    env.http(Method::DELETE, &format!("global/firewalls/{fw}"), None)
        .await;
    let r = env.refresh(&*p2).await;
    assert_eq!(r.drift.len(), 1);
    assert_eq!(r.drift[0].kind, DriftKind::Deleted);
    assert_eq!(r.drift[0].urn.name(), "fw");
    let plan = env.up(&*p2).await;
    assert_eq!(op(&plan, "fw"), Op::Create);
    assert_eq!(
        env.list("global/firewalls").await,
        vec![fw.clone()],
        "recreated under the same name"
    );

    // Drift: the firewall's rules changed behind mkso's back; up sets them back.
    let mut changed = env
        .http(Method::GET, &format!("global/firewalls/{fw}"), None)
        .await;
    changed["allowed"] = serde_json::json!([{"IPProtocol": "tcp", "ports": ["80"]}]);
    env.http(
        Method::PATCH,
        &format!("global/firewalls/{fw}"),
        Some(changed),
    )
    .await;
    let r = env.refresh(&*p2).await;
    assert_eq!(r.drift[0].kind, DriftKind::Changed(vec!["allowed".into()]));
    assert_eq!(op(&env.up(&*p2).await, "fw"), Op::Update);
    let got = env
        .http(Method::GET, &format!("global/firewalls/{fw}"), None)
        .await;
    assert_eq!(
        got["allowed"][0]["ports"],
        serde_json::json!(["22", "2222"])
    );

    // Delete everything.
    env.up(&*boxed(|_| Ok(()))).await;
    for path in [
        "global/networks",
        "regions/us-central1/subnetworks",
        "global/firewalls",
        "zones/us-central1-a/instances",
        "zones/us-central1-a/disks",
    ] {
        assert!(env.list(path).await.is_empty(), "{path} still has items");
    }
}

#[tokio::test]
async fn import_adopts_by_name() {
    let env = Env::new("Import");
    env.http(
        Method::POST,
        "global/networks",
        Some(serde_json::json!({"name": "legacy", "autoCreateSubnetworks": false})),
    )
    .await;
    let p = boxed(|s| {
        Network::new(
            s,
            "net",
            NetworkArgs::default().name("legacy"),
            ResourceOptions::new().import("legacy"),
        )?;
        Ok(())
    });
    let plan = env.up(&*p).await;
    assert_eq!(op(&plan, "net"), Op::Import);
    assert_eq!(env.id("net").await, "legacy");
    assert_eq!(
        env.list("global/networks").await,
        vec!["legacy"],
        "nothing created"
    );
    assert!(!env.preview(&*p).await.has_changes());
    // A missing name is a clear failure.
    let p = boxed(|s| {
        Disk::new(
            s,
            "d",
            DiskArgs::builder().size_gb(1),
            ResourceOptions::new().import("us-central1-a/nope"),
        )?;
        Ok(())
    });
    let (_, out) = env.try_up(&*p).await;
    assert!(
        out.failures[0]
            .error
            .contains("no gcp:compute:Disk with id `us-central1-a/nope`"),
        "{:?}",
        out.failures
    );
}

#[tokio::test]
async fn a_name_mkso_does_not_own_is_refused_and_an_owned_one_adopted() {
    let env = Env::new("Names");
    // Someone else's firewall under the name the program asks for.
    env.http(
        Method::POST,
        "global/firewalls",
        Some(serde_json::json!({"name": "taken", "network": "x", "description": "not ours"})),
    )
    .await;
    let p = boxed(|s| {
        Firewall::new(
            s,
            "fw",
            FirewallArgs::builder()
                .name("taken")
                .network("x")
                .allowed(ssh()),
            ResourceOptions::new(),
        )?;
        Ok(())
    });
    let (_, out) = env.try_up(&*p).await;
    let e = &out.failures[0].error;
    assert!(
        e.contains("`taken` is taken by a resource mkso does not own"),
        "{e}"
    );
    let got = env.http(Method::GET, "global/firewalls/taken", None).await;
    assert_eq!(got["description"], "not ours", "not overwritten");

    // A create that was cut off left resources that record our urn (a firewall's
    // description, a disk's label): adopted, not duplicated. Fresh state, same cloud.
    let env2 = Env::new("Adopt");
    let p = boxed(|s| {
        Firewall::new(
            s,
            "fw",
            FirewallArgs::builder().network("n").allowed(ssh()),
            ResourceOptions::new(),
        )?;
        Disk::new(
            s,
            "d",
            DiskArgs::builder().size_gb(5),
            ResourceOptions::new(),
        )?;
        Ok(())
    });
    env2.up(&*p).await;
    let (fw, disk) = (env2.id("fw").await, env2.id("d").await);
    let fresh = Env {
        stack: env2.stack.clone(),
        ..Env::new("Adopt")
    };
    let (plan, out) = fresh.try_up(&*p).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    assert_eq!(op(&plan, "fw"), Op::Create);
    assert_eq!(
        (fresh.id("fw").await, fresh.id("d").await),
        (fw.clone(), disk)
    );
    assert_eq!(fresh.list("global/firewalls").await, vec![fw]);
    assert_eq!(fresh.list("zones/us-central1-a/disks").await.len(), 1);
}

#[tokio::test]
async fn bad_input_is_caught_before_any_call() {
    let env = Env::new("Bad");
    for (name, range) in [("Bad_Name", "10.0.0.0/24"), ("ok", "10.0.0.0/33")] {
        let p = boxed(move |s| {
            Subnetwork::new(
                s,
                "sub",
                SubnetworkArgs::builder()
                    .name(name)
                    .network("n")
                    .ip_cidr_range(range),
                ResourceOptions::new(),
            )?;
            Ok(())
        });
        let err = mkso::engine::plan_update(
            &{
                let s = Stack::new(env.stack.clone(), "gcp-test", mkso::StackConfig::default());
                s.add_provider(
                    None,
                    std::sync::Arc::new(
                        GcpProvider::new(GcpConfig {
                            project: "p".into(),
                            region: "r".into(),
                            zone: "z".into(),
                            endpoint: None,
                            credentials: None,
                        })
                        .unwrap(),
                    ),
                );
                p(&s).unwrap();
                s.take_graph()
            },
            &mkso::state::StateView::empty(env.stack.clone()),
            &mkso::engine::EngineOptions::default(),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("`sub`")
                && (err.contains("not a GCP name") || err.contains("not an IPv4 range")),
            "{err}"
        );
    }
}
