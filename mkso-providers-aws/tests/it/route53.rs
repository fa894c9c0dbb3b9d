//! Route 53 (feature `route53`) against moto: a public zone with a plain
//! record and an alias record — create, update in place (values, TTL, the
//! zone's comment and tags), drift (a record changed and one deleted behind
//! mkso's back: refresh reports, up repairs), replace (a new name), import,
//! adoption of an interrupted record create, a record taken with other
//! values, a zone holding foreign records (refused unless `force_destroy`),
//! delete.

use std::collections::BTreeMap;

use mkso::engine::{DriftKind, Op};
use mkso::prelude::*;
use mkso_providers_aws::sdk::route53::Client;
use mkso_providers_aws::sdk::route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType, TagResourceType,
};
use mkso_providers_aws::{HostedZone, HostedZoneArgs, Record, RecordArgs};

use crate::{Env, Program, op};

#[derive(Clone)]
struct Z {
    domain: String,
    comment: &'static str,
    www: &'static [&'static str],
    ttl: Option<i64>,
    api_name: &'static str,
    team: &'static str,
    force_destroy: bool,
}

fn program(z: Z) -> Box<Program> {
    Box::new(move |s: &Stack| {
        let zone = HostedZone::new(
            s,
            "zone",
            HostedZoneArgs::builder()
                .name(z.domain.clone())
                .comment(Some(z.comment.to_string()))
                .force_destroy(z.force_destroy)
                .tags(BTreeMap::from([("owner".to_string(), z.team.to_string())])),
            ResourceOptions::new(),
        )?;
        Record::new(
            s,
            "www",
            RecordArgs::builder()
                .zone_id(zone.zone_id())
                .name(format!("www.{}", z.domain))
                .record_type("A")
                .ttl(z.ttl)
                .records(z.www.iter().map(|v| v.to_string()).collect::<Vec<_>>()),
            ResourceOptions::new(),
        )?;
        Record::new(
            s,
            "api",
            RecordArgs::builder()
                .zone_id(zone.zone_id())
                .name(format!("{}.{}", z.api_name, z.domain))
                .record_type("A")
                .alias_name(Some("web-123.us-east-1.elb.amazonaws.com".to_string()))
                .alias_zone_id(Some("Z35SXDOTRQ7X7K".to_string())),
            ResourceOptions::new(),
        )?;
        s.export("name_servers", zone.name_servers());
        Ok(())
    })
}

fn empty() -> Box<Program> {
    Box::new(|_: &Stack| Ok(()))
}

/// The record set of this name and type.
async fn record(c: &Client, zone: &str, name: &str) -> Option<ResourceRecordSet> {
    let out = c
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .unwrap();
    out.resource_record_sets()
        .iter()
        .find(|s| s.name().trim_end_matches('.') == name && s.r#type() == &RrType::A)
        .cloned()
}

fn values(s: &ResourceRecordSet) -> Vec<String> {
    let mut v: Vec<String> = s
        .resource_records()
        .iter()
        .map(|r| r.value().to_string())
        .collect();
    v.sort();
    v
}

async fn change(c: &Client, zone: &str, action: ChangeAction, set: ResourceRecordSet) {
    c.change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(action)
                        .resource_record_set(set)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

fn a_record(name: &str, ttl: i64, values: &[&str]) -> ResourceRecordSet {
    let mut b = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::A)
        .ttl(ttl);
    for v in values {
        b = b.resource_records(ResourceRecord::builder().value(*v).build().unwrap());
    }
    b.build().unwrap()
}

#[tokio::test]
async fn a_zone_and_its_records_through_every_change() {
    let env = Env::new("Dns");
    let c = env.route53().await.clone();
    let domain = format!("mkso-it-{}.example.com", std::process::id());
    let v1 = Z {
        domain: domain.clone(),
        comment: "the app's zone",
        www: &["10.0.0.1"],
        ttl: None,
        api_name: "api",
        team: "a",
        force_destroy: false,
    };
    let plan = env.up(&*program(v1.clone())).await;
    for name in ["zone", "www", "api"] {
        assert_eq!(op(&plan, name), Op::Create, "{name}");
    }
    let zone = env.id("zone").await;
    assert_eq!(env.id("www").await, format!("{zone}_www.{domain}_A"));
    let www = record(&c, &zone, &format!("www.{domain}")).await.unwrap();
    assert_eq!(values(&www), ["10.0.0.1"]);
    assert_eq!(www.ttl(), Some(300), "the default TTL");
    let api = record(&c, &zone, &format!("api.{domain}")).await.unwrap();
    let alias = api.alias_target().unwrap();
    assert_eq!(alias.hosted_zone_id(), "Z35SXDOTRQ7X7K");
    let tags = |c: Client, zone: String| async move {
        c.list_tags_for_resource()
            .resource_type(TagResourceType::Hostedzone)
            .resource_id(zone)
            .send()
            .await
            .unwrap()
            .resource_tag_set()
            .unwrap()
            .tags()
            .iter()
            .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
            .collect::<BTreeMap<_, _>>()
    };
    let t = tags(c.clone(), zone.clone()).await;
    assert_eq!((t["owner"].as_str(), t["Team"].as_str()), ("a", "infra"));
    assert!(t["mkso:urn"].ends_with("aws:route53:HostedZone::zone"));
    assert!(
        env.state().await.outputs["name_servers"]
            .as_array()
            .is_some_and(|ns| !ns.is_empty())
    );
    assert!(!env.preview(&*program(v1.clone())).await.has_changes());

    // In place: the record's values and TTL, the zone's comment and tags.
    let v2 = Z {
        comment: "app zone",
        www: &["10.0.0.1", "10.0.0.2"],
        ttl: Some(60),
        team: "b",
        ..v1.clone()
    };
    let plan = env.up(&*program(v2.clone())).await;
    assert_eq!(op(&plan, "zone"), Op::Update);
    assert_eq!(op(&plan, "www"), Op::Update);
    assert_eq!(op(&plan, "api"), Op::Same);
    let www = record(&c, &zone, &format!("www.{domain}")).await.unwrap();
    assert_eq!(values(&www), ["10.0.0.1", "10.0.0.2"]);
    assert_eq!(www.ttl(), Some(60));
    let got = c.get_hosted_zone().id(&zone).send().await.unwrap();
    assert_eq!(
        got.hosted_zone().unwrap().config().unwrap().comment(),
        Some("app zone")
    );
    assert_eq!(tags(c.clone(), zone.clone()).await["owner"], "b");
    assert!(!env.preview(&*program(v2.clone())).await.has_changes());

    // Drift: www's values changed, api deleted behind mkso's back.
    change(
        &c,
        &zone,
        ChangeAction::Upsert,
        a_record(&format!("www.{domain}"), 60, &["10.9.9.9"]),
    )
    .await;
    change(&c, &zone, ChangeAction::Delete, api.clone()).await;
    let r = env.refresh(&*program(v2.clone())).await;
    let kind = |n: &str| {
        r.drift
            .iter()
            .find(|d| d.urn.name() == n)
            .unwrap_or_else(|| panic!("no drift of {n}: {:?}", r.drift))
            .kind
            .clone()
    };
    assert_eq!(kind("www"), DriftKind::Changed(vec!["records".into()]));
    assert_eq!(kind("api"), DriftKind::Deleted);
    env.up(&*program(v2.clone())).await;
    let www = record(&c, &zone, &format!("www.{domain}")).await.unwrap();
    assert_eq!(values(&www), ["10.0.0.1", "10.0.0.2"]);
    assert!(record(&c, &zone, &format!("api.{domain}")).await.is_some());
    assert!(!env.preview(&*program(v2.clone())).await.has_changes());

    // Replace: a new name for the alias record.
    let v3 = Z {
        api_name: "api2",
        ..v2.clone()
    };
    let plan = env.up(&*program(v3.clone())).await;
    assert_eq!(op(&plan, "api"), Op::Replace);
    assert!(record(&c, &zone, &format!("api.{domain}")).await.is_none());
    assert!(record(&c, &zone, &format!("api2.{domain}")).await.is_some());

    // Import the zone into another stack.
    let other = Env::new("DnsImport");
    let (d, z) = (domain.clone(), zone.clone());
    let imported: Box<Program> = Box::new(move |s: &Stack| {
        HostedZone::new(
            s,
            "zone",
            HostedZoneArgs::builder()
                .name(d.clone())
                .comment(Some("app zone".to_string()))
                .tags(BTreeMap::from([("owner".to_string(), "b".to_string())])),
            ResourceOptions::new().import(z.clone()),
        )?;
        Ok(())
    });
    let plan = other.up(&*imported).await;
    assert_eq!(op(&plan, "zone"), Op::Import);
    assert_eq!(other.id("zone").await, zone);

    // A record mkso does not manage keeps the zone from being deleted,
    // naming the fix; with force_destroy it goes with the zone.
    change(
        &c,
        &zone,
        ChangeAction::Create,
        a_record(&format!("manual.{domain}"), 300, &["10.1.1.1"]),
    )
    .await;
    let (_, out) = env.try_up(&*empty()).await;
    assert_eq!(out.failures.len(), 1, "{:?}", out.failures);
    assert!(
        out.failures[0].error.contains("force_destroy"),
        "{}",
        out.failures[0].error
    );
    env.up(&*program(Z {
        force_destroy: true,
        ..v3.clone()
    }))
    .await;
    let plan = env.up(&*empty()).await;
    assert_eq!(op(&plan, "zone"), Op::Delete);
    assert!(c.get_hosted_zone().id(&zone).send().await.is_err());
}

#[tokio::test]
async fn an_interrupted_record_create_is_adopted_and_other_values_are_refused() {
    let env = Env::new("DnsAdopt");
    let c = env.route53().await.clone();
    let domain = format!("mkso-adopt-{}.example.com", std::process::id());
    let zone = c
        .create_hosted_zone()
        .name(&domain)
        .caller_reference(format!("test-{}", std::process::id()))
        .send()
        .await
        .unwrap()
        .hosted_zone()
        .unwrap()
        .id()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let name = format!("www.{domain}");
    // What an interrupted create left: the record with the program's values.
    change(
        &c,
        &zone,
        ChangeAction::Create,
        a_record(&name, 300, &["10.0.0.1"]),
    )
    .await;
    let only_record = |zone: String, name: String, value: &'static str| -> Box<Program> {
        Box::new(move |s: &Stack| {
            Record::new(
                s,
                "www",
                RecordArgs::builder()
                    .zone_id(zone.clone())
                    .name(name.clone())
                    .record_type("A")
                    .records(vec![value.to_string()]),
                ResourceOptions::new(),
            )?;
            Ok(())
        })
    };
    let plan = env
        .up(&*only_record(zone.clone(), name.clone(), "10.0.0.1"))
        .await;
    assert_eq!(op(&plan, "www"), Op::Create);
    assert_eq!(env.id("www").await, format!("{zone}_{name}_A"), "adopted");

    // Another stack wants the name with other values: refused.
    let other = Env::new("DnsTaken");
    let (_, out) = other
        .try_up(&*only_record(zone.clone(), name.clone(), "10.0.0.9"))
        .await;
    assert_eq!(out.failures.len(), 1);
    let e = &out.failures[0].error;
    assert!(
        e.contains("exists already with other values") && e.contains("import"),
        "{e}"
    );
    env.up(&*empty()).await;
    assert!(record(&c, &zone, &name).await.is_none());
    c.delete_hosted_zone().id(&zone).send().await.unwrap();
}
