//! `AwsPostgres`: the graph (a snapshot), its one way in, the password
//! secret, and settings that do not make a database.

use mkso::prelude::*;
use mkso::testing::preview;
use mkso_components::{AwsPostgres, AwsPostgresArgs};

fn args() -> AwsPostgresArgs {
    AwsPostgresArgs::new(
        Output::new("vpc-1".to_string()),
        Output::new(vec!["subnet-a".to_string(), "subnet-b".to_string()]),
        Output::new("sg-app".to_string()),
        Output::new("canary-password-31f".to_string()),
    )
}

#[test]
fn a_database_reachable_from_the_app_only() {
    let g = preview(|stack: &Stack| {
        let mut a = args();
        a.multi_az = true;
        a.instance_class = "db.m5.large".to_string();
        let db = AwsPostgres::new(stack, "db", a, ResourceOptions::new())?;
        stack.export("db_endpoint", db.endpoint.clone());
        Ok(())
    })
    .stack("aws.app.Production")
    .up()
    .unwrap();
    let rule = g.get("db/from-app").unwrap();
    assert_eq!(rule.inputs["security_group_id"], "db-sg-id");
    assert_eq!(rule.inputs["source_security_group_id"], "sg-app");
    assert_eq!(
        (
            rule.inputs["from_port"].clone(),
            rule.inputs["to_port"].clone()
        ),
        (5432.into(), 5432.into())
    );
    let db = g.get("db/instance").unwrap();
    assert_eq!(db.inputs["db_subnet_group_name"], "db-subnets-id");
    assert_eq!(
        db.inputs["vpc_security_group_ids"],
        serde_json::json!(["db-sg-id"])
    );
    assert_eq!(db.inputs["engine"], "postgres");
    assert_eq!(db.inputs["multi_az"], true);
    // The password is secret although the program passed it in clear.
    let shown = serde_json::to_string(&g).unwrap();
    assert!(!shown.contains("canary-password-31f"), "{shown}");
    assert_eq!(db.inputs["password"], "[secret]");
    insta::assert_yaml_snapshot!(g);
}

#[test]
fn too_little_storage_says_why() {
    let e = preview(|stack: &Stack| {
        let mut a = args();
        a.allocated_storage = 5;
        AwsPostgres::new(stack, "db", a, ResourceOptions::new())?;
        Ok(())
    })
    .stack("aws.app.QA")
    .up()
    .unwrap_err()
    .to_string();
    assert!(e.contains("database `db`: allocated_storage 5 GiB"), "{e}");
}
