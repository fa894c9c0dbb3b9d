//! RDS (feature `rds`) against moto: a Postgres instance in a subnet group
//! behind a security group — create (the password a secret property),
//! update in place (class, storage, backups, password, tags, the group's
//! description), drift (changed behind mkso's back: refresh reports, up
//! repairs), a shrink refused, replace (a new database name: a final
//! snapshot of the old instance), import, adoption of an interrupted
//! create, a taken name, delete.

use std::collections::BTreeMap;

use mkso::engine::{DriftKind, Op, RenderOptions, render_plan};
use mkso::prelude::*;
use mkso_providers_aws::sdk::rds::Client;
use mkso_providers_aws::sdk::rds::types::Tag;
use mkso_providers_aws::{
    DbInstance, DbInstanceArgs, DbSubnetGroup, DbSubnetGroupArgs, SecurityGroup, SecurityGroupArgs,
    Subnet, SubnetArgs, Vpc, VpcArgs,
};

use crate::{Env, Program, op};

#[derive(Clone)]
struct D {
    class: &'static str,
    storage: i32,
    backups: i32,
    password: &'static str,
    db_name: &'static str,
    team: &'static str,
    description: &'static str,
    skip_final_snapshot: bool,
}

fn program(d: D) -> Box<Program> {
    Box::new(move |s: &Stack| {
        let vpc = Vpc::new(
            s,
            "net",
            VpcArgs::builder().cidr_block("10.63.0.0/16"),
            ResourceOptions::new(),
        )?;
        let subnets: Vec<_> = ["a", "b"]
            .iter()
            .enumerate()
            .map(|(n, zone)| {
                Subnet::new(
                    s,
                    &format!("private-{zone}"),
                    SubnetArgs::builder()
                        .vpc_id(vpc.id())
                        .cidr_block(format!("10.63.{n}.0/24"))
                        .availability_zone(Some(format!("us-east-1{zone}"))),
                    ResourceOptions::new(),
                )
            })
            .collect::<Result<_, _>>()?;
        let sg = SecurityGroup::new(
            s,
            "db-sg",
            SecurityGroupArgs::builder()
                .vpc_id(vpc.id())
                .description(Some("the database".to_string())),
            ResourceOptions::new(),
        )?;
        let group = DbSubnetGroup::new(
            s,
            "db-subnets",
            DbSubnetGroupArgs::builder()
                .description(Some(d.description.to_string()))
                .subnet_ids(Output::all_vec(subnets.iter().map(|s| s.id())))
                .tags(BTreeMap::from([("owner".to_string(), d.team.to_string())])),
            ResourceOptions::new(),
        )?;
        let db = DbInstance::new(
            s,
            "db",
            DbInstanceArgs::builder()
                .engine("postgres")
                .engine_version(Some("16".to_string()))
                .instance_class(d.class)
                .allocated_storage(d.storage)
                .db_name(Some(d.db_name.to_string()))
                .username("app")
                .password(Some(d.password.to_string()))
                .db_subnet_group_name(group.id().map(Some))
                .vpc_security_group_ids(sg.id().map(|g| vec![g]))
                .backup_retention_period(Some(d.backups))
                .skip_final_snapshot(d.skip_final_snapshot)
                .tags(BTreeMap::from([("owner".to_string(), d.team.to_string())])),
            ResourceOptions::new(),
        )?;
        s.export("db_endpoint", db.endpoint());
        Ok(())
    })
}

fn empty() -> Box<Program> {
    Box::new(|_: &Stack| Ok(()))
}

async fn describe(c: &Client, id: &str) -> Option<mkso_providers_aws::sdk::rds::types::DbInstance> {
    c.describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .ok()?
        .db_instances()
        .first()
        .cloned()
}

fn tag_map(t: &[Tag]) -> BTreeMap<String, String> {
    t.iter()
        .map(|t| {
            (
                t.key().unwrap_or("").to_string(),
                t.value().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_database_lives_through_every_change() {
    let env = Env::new("Rds");
    let c = env.rds().await.clone();
    let v1 = D {
        class: "db.t3.micro",
        storage: 20,
        backups: 1,
        password: "first-password-8e1f",
        db_name: "app",
        team: "a",
        description: "the app's database subnets",
        skip_final_snapshot: false,
    };
    let plan = env.up(&*program(v1.clone())).await;
    assert_eq!(op(&plan, "db"), Op::Create);
    assert_eq!(op(&plan, "db-subnets"), Op::Create);
    // The password is masked in the plan and sealed in state.
    let shown = render_plan(
        &plan,
        RenderOptions {
            diff: true,
            show_same: true,
        },
    );
    assert!(!shown.contains(v1.password), "{shown}");
    assert!(shown.contains("+ password: [secret]"), "{shown}");
    let state = env.state().await;
    let rec = state.live.values().find(|r| r.urn.name() == "db").unwrap();
    assert_eq!(rec.secret_inputs, ["password"]);
    assert!(!rec.secret, "only the password is secret");

    let (db, group) = (env.id("db").await, env.id("db-subnets").await);
    // Default identifiers: <stack>-<name>-<hash>, in lower case.
    let prefix = format!("{}-db-", env.stack.as_str().replace('.', "-")).to_lowercase();
    assert!(db.starts_with(&prefix), "{db}");
    let got = describe(&c, &db).await.unwrap();
    assert_eq!(got.engine(), Some("postgres"));
    assert_eq!(got.db_instance_class(), Some("db.t3.micro"));
    assert_eq!(got.allocated_storage(), Some(20));
    assert_eq!(
        got.db_subnet_group().and_then(|g| g.db_subnet_group_name()),
        Some(group.as_str())
    );
    assert_eq!(got.vpc_security_groups().len(), 1);
    let t = tag_map(got.tag_list());
    assert_eq!((t["owner"].as_str(), t["Team"].as_str()), ("a", "infra"));
    let endpoint = env.state().await.outputs["db_endpoint"].clone();
    assert!(
        endpoint
            .as_str()
            .is_some_and(|e| e.starts_with(&db) && e.contains(':')),
        "{endpoint}"
    );
    assert!(!env.preview(&*program(v1.clone())).await.has_changes());

    // In place: class, storage, backups, password, tags; the group's
    // description.
    let v2 = D {
        class: "db.t3.small",
        storage: 30,
        backups: 3,
        password: "second-password-77aa",
        team: "b",
        description: "database subnets",
        ..v1.clone()
    };
    let plan = env.up(&*program(v2.clone())).await;
    assert_eq!(op(&plan, "db"), Op::Update);
    assert_eq!(op(&plan, "db-subnets"), Op::Update);
    assert_eq!(env.id("db").await, db, "updated, not replaced");
    let got = describe(&c, &db).await.unwrap();
    assert_eq!(got.db_instance_class(), Some("db.t3.small"));
    assert_eq!(got.allocated_storage(), Some(30));
    assert_eq!(got.backup_retention_period(), Some(3));
    assert_eq!(tag_map(got.tag_list())["owner"], "b");
    let g = c
        .describe_db_subnet_groups()
        .db_subnet_group_name(&group)
        .send()
        .await
        .unwrap();
    assert_eq!(
        g.db_subnet_groups()[0].db_subnet_group_description(),
        Some("database subnets")
    );
    assert!(!env.preview(&*program(v2.clone())).await.has_changes());

    // Drift: backups and a tag changed behind mkso's back.
    c.modify_db_instance()
        .db_instance_identifier(&db)
        .backup_retention_period(7)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    c.add_tags_to_resource()
        .resource_name(got.db_instance_arn().unwrap())
        .tags(Tag::builder().key("owner").value("zzz").build())
        .send()
        .await
        .unwrap();
    let r = env.refresh(&*program(v2.clone())).await;
    let drift = r
        .drift
        .iter()
        .find(|d| d.urn.name() == "db")
        .unwrap_or_else(|| panic!("no drift of db: {:?}", r.drift));
    assert_eq!(
        drift.kind,
        DriftKind::Changed(vec!["backup_retention_period".into(), "tags".into()])
    );
    env.up(&*program(v2.clone())).await;
    let got = describe(&c, &db).await.unwrap();
    assert_eq!(got.backup_retention_period(), Some(3));
    assert_eq!(tag_map(got.tag_list())["owner"], "b");
    assert!(!env.preview(&*program(v2.clone())).await.has_changes());

    // Storage only grows: a shrink is refused, naming the fix.
    let (_, out) = env
        .try_up(&*program(D {
            storage: 20,
            ..v2.clone()
        }))
        .await;
    assert_eq!(out.failures.len(), 1, "{:?}", out.failures);
    assert!(
        out.failures[0]
            .error
            .contains("cannot shrink from 30 GiB to 20 GiB"),
        "{}",
        out.failures[0].error
    );

    // Replace: a new database name is a new instance (a new default
    // identifier, next to the old one); the old one goes with a final
    // snapshot.
    let v3 = D {
        db_name: "app2",
        skip_final_snapshot: true,
        ..v2.clone()
    };
    let plan = env.up(&*program(v3.clone())).await;
    assert_eq!(op(&plan, "db"), Op::Replace);
    let db2 = env.id("db").await;
    assert_ne!(db2, db);
    assert!(
        describe(&c, &db).await.is_none(),
        "the old instance is gone"
    );
    let snaps = c
        .describe_db_snapshots()
        .db_instance_identifier(&db)
        .send()
        .await
        .unwrap();
    let finals: Vec<_> = snaps
        .db_snapshots()
        .iter()
        .filter_map(|s| s.db_snapshot_identifier())
        .filter(|s| s.starts_with(&format!("{db}-final-")))
        .map(String::from)
        .collect();
    assert_eq!(finals.len(), 1, "{finals:?}");
    c.delete_db_snapshot()
        .db_snapshot_identifier(&finals[0])
        .send()
        .await
        .unwrap();
    assert!(!env.preview(&*program(v3.clone())).await.has_changes());

    // Import the instance into another stack (the password: the program's).
    let other = Env::new("RdsImport");
    let (group2, sg) = (env.id("db-subnets").await, env.id("db-sg").await);
    let id = db2.clone();
    let imported: Box<Program> = Box::new(move |s: &Stack| {
        DbInstance::new(
            s,
            "db",
            DbInstanceArgs::builder()
                .identifier(Some(id.clone()))
                .engine("postgres")
                .engine_version(Some("16".to_string()))
                .instance_class("db.t3.small")
                .allocated_storage(30)
                .db_name(Some("app2".to_string()))
                .username("app")
                .password(Some("second-password-77aa".to_string()))
                .db_subnet_group_name(Some(group2.clone()))
                .vpc_security_group_ids(vec![sg.clone()])
                .backup_retention_period(Some(3))
                .skip_final_snapshot(true)
                .tags(BTreeMap::from([("owner".to_string(), "b".to_string())])),
            ResourceOptions::new().import(id.clone()),
        )?;
        Ok(())
    });
    let plan = other.up(&*imported).await;
    assert_eq!(op(&plan, "db"), Op::Import);
    assert_eq!(other.id("db").await, db2);

    // Delete: the instance (no final snapshot now), then its group.
    let plan = env.up(&*empty()).await;
    assert_eq!(op(&plan, "db"), Op::Delete);
    assert!(describe(&c, &db2).await.is_none());
    assert!(
        c.describe_db_subnet_groups()
            .db_subnet_group_name(&group)
            .send()
            .await
            .is_err()
    );
    let snaps = c
        .describe_db_snapshots()
        .db_instance_identifier(&db2)
        .send()
        .await
        .unwrap();
    assert!(snaps.db_snapshots().is_empty(), "skip_final_snapshot");
}

#[tokio::test]
async fn an_interrupted_subnet_group_create_is_adopted_and_a_taken_name_is_refused() {
    let env = Env::new("RdsAdopt");
    let c = env.rds().await.clone();
    let ec2 = env.client().await.clone();
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.64.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.64.0.0/24")
        .send()
        .await
        .unwrap()
        .subnet
        .unwrap()
        .subnet_id
        .unwrap();
    let name = format!("mkso-it-adopt-{}", std::process::id());
    let urn = format!(
        "urn:mkso:{}::aws-test::aws:rds:DbSubnetGroup::db-subnets",
        env.stack.as_str()
    );
    // What an interrupted create left: the group, tagged with the urn.
    c.create_db_subnet_group()
        .db_subnet_group_name(&name)
        .db_subnet_group_description("Managed by mkso")
        .subnet_ids(&subnet)
        .tags(Tag::builder().key("mkso:urn").value(urn).build())
        .send()
        .await
        .unwrap();
    let only_group = |name: String, subnet: String| -> Box<Program> {
        Box::new(move |s: &Stack| {
            DbSubnetGroup::new(
                s,
                "db-subnets",
                DbSubnetGroupArgs::builder()
                    .name(Some(name.clone()))
                    .subnet_ids(vec![subnet.clone()]),
                ResourceOptions::new(),
            )?;
            Ok(())
        })
    };
    let plan = env.up(&*only_group(name.clone(), subnet.clone())).await;
    assert_eq!(op(&plan, "db-subnets"), Op::Create);
    assert_eq!(env.id("db-subnets").await, name, "adopted");
    assert!(
        !env.preview(&*only_group(name.clone(), subnet.clone()))
            .await
            .has_changes()
    );

    let other = Env::new("RdsTaken");
    let (_, out) = other
        .try_up(&*only_group(name.clone(), subnet.clone()))
        .await;
    assert_eq!(out.failures.len(), 1);
    let e = &out.failures[0].error;
    assert!(
        e.contains(&format!("the DB subnet group name `{name}` is taken"))
            && e.contains("import option"),
        "{e}"
    );
    env.up(&*empty()).await;
    assert!(
        c.describe_db_subnet_groups()
            .db_subnet_group_name(&name)
            .send()
            .await
            .is_err()
    );
    ec2.delete_subnet().subnet_id(&subnet).send().await.unwrap();
    ec2.delete_vpc().vpc_id(&vpc).send().await.unwrap();
}
