//! IAM (feature `iam`) against moto: a role with a managed policy attached
//! and an instance profile — create, update in place (a new policy version,
//! the role's description, tags, the profile's role), drift (changed and
//! detached behind mkso's back: refresh reports, up repairs), replace,
//! import, adoption of an interrupted create, a taken name, delete.

use aws_sdk_iam::types::Tag;
use mkso::engine::{DriftKind, Op};
use mkso::prelude::*;
use mkso_providers_aws::{
    InstanceProfile, InstanceProfileArgs, Policy, PolicyArgs, Role, RoleArgs, RolePolicyAttachment,
    RolePolicyAttachmentArgs,
};
use serde_json::json;

use crate::{Env, Program, op};

#[derive(Clone)]
struct I {
    role: String,
    description: &'static str,
    actions: &'static [&'static str],
    team: &'static str,
    profile_role: bool,
    import_role: Option<String>,
}

fn assume(service: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole"
        }]
    })
    .to_string()
}

fn program(i: I) -> Box<Program> {
    Box::new(move |s: &Stack| {
        let mut opts = ResourceOptions::new();
        if let Some(id) = &i.import_role {
            opts = opts.import(id.clone());
        }
        let role = Role::new(
            s,
            "app",
            RoleArgs::builder()
                .name(Some(i.role.clone()))
                .assume_role_policy(assume("ec2.amazonaws.com"))
                .description(Some(i.description.to_string()))
                .tags(std::collections::BTreeMap::from([(
                    "owner".to_string(),
                    i.team.to_string(),
                )])),
            opts,
        )?;
        if i.import_role.is_some() {
            return Ok(());
        }
        let policy = Policy::new(
            s,
            "read-assets",
            PolicyArgs::builder().policy(
                json!({
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": i.actions, "Resource": "*"}]
                })
                .to_string(),
            ),
            ResourceOptions::new(),
        )?;
        RolePolicyAttachment::new(
            s,
            "app-read-assets",
            RolePolicyAttachmentArgs::builder()
                .role(role.id())
                .policy_arn(policy.arn()),
            ResourceOptions::new(),
        )?;
        let profile = InstanceProfile::new(
            s,
            "app-profile",
            InstanceProfileArgs::builder().role(if i.profile_role {
                role.id().map(Some)
            } else {
                Output::new(None)
            }),
            ResourceOptions::new(),
        )?;
        s.export("role_arn", role.arn());
        s.export("profile_arn", profile.arn());
        Ok(())
    })
}

fn empty() -> Box<Program> {
    Box::new(|_| Ok(()))
}

async fn role_exists(c: &aws_sdk_iam::Client, name: &str) -> bool {
    c.get_role().role_name(name).send().await.is_ok()
}

async fn attached(c: &aws_sdk_iam::Client, role: &str) -> Vec<String> {
    c.list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap()
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(String::from))
        .collect()
}

#[tokio::test]
async fn role_policy_attachment_and_instance_profile() {
    let env = Env::new("Iam");
    let c = env.iam().await.clone();
    let role = format!("mkso-it-app-{}", std::process::id());
    let v1 = I {
        role: role.clone(),
        description: "the app's instances",
        actions: &["s3:GetObject"],
        team: "a",
        profile_role: true,
        import_role: None,
    };
    let plan = env.up(&*program(v1.clone())).await;
    for name in ["app", "read-assets", "app-read-assets"] {
        assert_eq!(op(&plan, name), Op::Create, "{name}");
    }
    assert_eq!(env.id("app").await, role);
    let policy_arn = env.id("read-assets").await;
    assert!(
        policy_arn.starts_with("arn:aws:iam::") && policy_arn.contains(":policy/"),
        "{policy_arn}"
    );
    // The policy's default name: <stack>-<name>-<hash>.
    let policy_name = policy_arn.rsplit('/').next().unwrap();
    assert!(
        policy_name.starts_with(&format!("{}-read-assets-", env.stack.as_str())),
        "{policy_name}"
    );
    assert_eq!(attached(&c, &role).await, vec![policy_arn.clone()]);
    let got = c.get_role().role_name(&role).send().await.unwrap();
    let r = got.role().unwrap();
    assert_eq!(r.description(), Some("the app's instances"));
    let tags: std::collections::BTreeMap<_, _> =
        r.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags["owner"], "a");
    assert_eq!(tags["Team"], "infra", "default tag");
    let profile = env.id("app-profile").await;
    let profiles = c
        .list_instance_profiles_for_role()
        .role_name(&role)
        .send()
        .await
        .unwrap();
    assert_eq!(profiles.instance_profiles().len(), 1);
    assert_eq!(
        profiles.instance_profiles()[0].instance_profile_name(),
        profile
    );
    assert!(
        env.state()
            .await
            .outputs
            .get("profile_arn")
            .is_some_and(|a| a.as_str().unwrap().contains(":instance-profile/"))
    );
    assert!(
        !env.preview(&*program(v1.clone())).await.has_changes(),
        "IAM's URL-encoded documents read back as no change"
    );

    // In place: a new policy version, the role's description and tags, the
    // profile without its role.
    let v2 = I {
        description: "app instances",
        actions: &["s3:GetObject", "s3:ListBucket"],
        team: "b",
        profile_role: false,
        ..v1.clone()
    };
    let plan = env.up(&*program(v2.clone())).await;
    assert_eq!(op(&plan, "app"), Op::Update);
    assert_eq!(op(&plan, "read-assets"), Op::Update);
    assert_eq!(op(&plan, "app-read-assets"), Op::Same);
    assert_eq!(op(&plan, "app-profile"), Op::Update);
    let versions = c
        .list_policy_versions()
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 2);
    let r = c.get_role().role_name(&role).send().await.unwrap();
    assert_eq!(r.role().unwrap().description(), Some("app instances"));
    assert!(
        c.list_instance_profiles_for_role()
            .role_name(&role)
            .send()
            .await
            .unwrap()
            .instance_profiles()
            .is_empty()
    );
    assert!(!env.preview(&*program(v2.clone())).await.has_changes());

    // Drift: the description changed, a tag changed and the policy detached
    // behind mkso's back.
    c.update_role()
        .role_name(&role)
        .description("hacked")
        .send()
        .await
        .unwrap();
    c.tag_role()
        .role_name(&role)
        .tags(Tag::builder().key("owner").value("zzz").build().unwrap())
        .send()
        .await
        .unwrap();
    c.detach_role_policy()
        .role_name(&role)
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
    let r = env.refresh(&*program(v2.clone())).await;
    let kind = |n: &str| {
        r.drift
            .iter()
            .find(|d| d.urn.name() == n)
            .unwrap_or_else(|| panic!("no drift of {n}: {:?}", r.drift))
            .kind
            .clone()
    };
    assert_eq!(
        kind("app"),
        DriftKind::Changed(vec!["description".into(), "tags".into()])
    );
    assert_eq!(kind("app-read-assets"), DriftKind::Deleted);
    env.up(&*program(v2.clone())).await;
    assert_eq!(
        attached(&c, &role).await,
        vec![policy_arn.clone()],
        "reattached"
    );
    let r = c.get_role().role_name(&role).send().await.unwrap();
    assert_eq!(r.role().unwrap().description(), Some("app instances"));
    assert!(!env.preview(&*program(v2.clone())).await.has_changes());

    // Replace: a new role name; its attachment moves with it.
    let renamed = format!("{role}-2");
    let v3 = I {
        role: renamed.clone(),
        profile_role: true,
        ..v2.clone()
    };
    let plan = env.up(&*program(v3.clone())).await;
    assert_eq!(op(&plan, "app"), Op::Replace);
    assert_eq!(op(&plan, "app-read-assets"), Op::Replace);
    assert!(role_exists(&c, &renamed).await && !role_exists(&c, &role).await);
    assert_eq!(attached(&c, &renamed).await, vec![policy_arn.clone()]);

    // Import the role into another stack, then forget it there.
    let other = Env::new("IamImport");
    let imported = I {
        import_role: Some(renamed.clone()),
        ..v3.clone()
    };
    let plan = other.up(&*program(imported.clone())).await;
    assert_eq!(op(&plan, "app"), Op::Import);
    assert_eq!(other.id("app").await, renamed);

    // Delete: everything goes, in order (attachment and profile before the
    // role, the policy's old versions before the policy).
    let plan = env.up(&*empty()).await;
    assert_eq!(op(&plan, "app"), Op::Delete);
    assert!(!role_exists(&c, &renamed).await);
    assert!(c.get_policy().policy_arn(&policy_arn).send().await.is_err());
    let left = c
        .list_instance_profiles()
        .send()
        .await
        .unwrap()
        .instance_profiles()
        .iter()
        .filter(|p| p.instance_profile_name().starts_with(env.stack.as_str()))
        .count();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn an_interrupted_role_create_is_adopted_and_a_taken_name_is_refused() {
    let env = Env::new("IamAdopt");
    let c = env.iam().await.clone();
    let name = format!("mkso-it-adopt-{}", std::process::id());
    let urn = format!(
        "urn:mkso:{}::aws-test::aws:iam:Role::app",
        env.stack.as_str()
    );
    // What an interrupted create left: the role, tagged with the urn.
    c.create_role()
        .role_name(&name)
        .assume_role_policy_document(assume("ec2.amazonaws.com"))
        .tags(Tag::builder().key("mkso:urn").value(urn).build().unwrap())
        .send()
        .await
        .unwrap();
    let only_role = |role: String| -> Box<Program> {
        Box::new(move |s: &Stack| {
            Role::new(
                s,
                "app",
                RoleArgs::builder()
                    .name(Some(role.clone()))
                    .assume_role_policy(assume("ec2.amazonaws.com")),
                ResourceOptions::new(),
            )?;
            Ok(())
        })
    };
    let plan = env.up(&*only_role(name.clone())).await;
    assert_eq!(op(&plan, "app"), Op::Create);
    assert_eq!(env.id("app").await, name, "adopted, not a second role");
    assert!(!env.preview(&*only_role(name.clone())).await.has_changes());

    // Another stack wants the same name: refused, naming what to do.
    let other = Env::new("IamTaken");
    let (_, out) = other.try_up(&*only_role(name.clone())).await;
    assert_eq!(out.failures.len(), 1);
    let e = &out.failures[0].error;
    assert!(
        e.contains(&format!("the role name `{name}` is taken")) && e.contains("import option"),
        "{e}"
    );
    env.up(&*empty()).await;
    assert!(!role_exists(&c, &name).await);
}
