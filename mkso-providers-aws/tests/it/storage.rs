//! `aws:s3:Bucket` (feature `s3`) against moto's S3: create, update in
//! place, drift (refresh reports, up corrects), deleted behind mkso's back,
//! replace, adoption of an interrupted create, a name taken by another
//! bucket, delete with and without `force_destroy`, import.

use aws_sdk_s3::types::{BucketVersioningStatus, Tag, Tagging};
use mkso::engine::{DriftKind, Op};
use mkso::prelude::*;
use mkso_providers_aws::{Bucket, BucketArgs};

use crate::{Env, Program, op};

#[derive(Clone)]
struct B {
    name: String,
    versioning: bool,
    sse: Option<&'static str>,
    block: bool,
    force_destroy: bool,
    team: &'static str,
    import: Option<String>,
    retain: bool,
}

fn program(b: B) -> Box<Program> {
    Box::new(move |s: &Stack| {
        let mut opts = ResourceOptions::new().retain_on_delete(b.retain);
        if let Some(id) = &b.import {
            opts = opts.import(id.clone());
        }
        let bucket = Bucket::new(
            s,
            "assets",
            BucketArgs::builder()
                .bucket(Some(b.name.clone()))
                .versioning(b.versioning)
                .sse_algorithm(b.sse.map(String::from))
                .block_public_access(Some(b.block))
                .force_destroy(b.force_destroy)
                .tags(std::collections::BTreeMap::from([(
                    "team".to_string(),
                    b.team.to_string(),
                )])),
            opts,
        )?;
        s.export("arn", bucket.arn());
        Ok(())
    })
}

fn empty() -> Box<Program> {
    Box::new(|_| Ok(()))
}

async fn cloud_tags(
    c: &aws_sdk_s3::Client,
    name: &str,
) -> std::collections::BTreeMap<String, String> {
    match c.get_bucket_tagging().bucket(name).send().await {
        Ok(t) => t
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        Err(_) => Default::default(),
    }
}

async fn exists(c: &aws_sdk_s3::Client, name: &str) -> bool {
    c.head_bucket().bucket(name).send().await.is_ok()
}

async fn versioning(c: &aws_sdk_s3::Client, name: &str) -> bool {
    c.get_bucket_versioning()
        .bucket(name)
        .send()
        .await
        .unwrap()
        .status()
        == Some(&BucketVersioningStatus::Enabled)
}

#[tokio::test]
async fn bucket() {
    let env = Env::new("Bucket");
    let c = env.s3().await.clone();
    let name = format!("mkso-it-assets-{}", std::process::id());
    let v1 = B {
        name: name.clone(),
        versioning: true,
        sse: Some("AES256"),
        block: true,
        force_destroy: false,
        team: "a",
        import: None,
        retain: false,
    };
    let plan = env.up(&*program(v1.clone())).await;
    assert_eq!(op(&plan, "assets"), Op::Create);
    assert_eq!(env.id("assets").await, name);
    assert!(versioning(&c, &name).await);
    let t = cloud_tags(&c, &name).await;
    assert_eq!(t["team"], "a");
    assert_eq!(t["Team"], "infra", "default tag");
    assert!(t["mkso:urn"].ends_with("aws:s3:Bucket::assets"), "{t:?}");
    let pab = c
        .get_public_access_block()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        pab.public_access_block_configuration()
            .and_then(|p| p.restrict_public_buckets()),
        Some(true)
    );
    assert!(!env.preview(&*program(v1.clone())).await.has_changes());

    // In place: versioning suspended, another tag, no public-access block.
    let v2 = B {
        versioning: false,
        block: false,
        team: "b",
        ..v1.clone()
    };
    let plan = env.up(&*program(v2.clone())).await;
    assert_eq!(op(&plan, "assets"), Op::Update);
    assert!(!versioning(&c, &name).await);
    assert_eq!(cloud_tags(&c, &name).await["team"], "b");
    assert!(
        c.get_public_access_block()
            .bucket(&name)
            .send()
            .await
            .is_err(),
        "the block is removed"
    );
    assert!(!env.preview(&*program(v2.clone())).await.has_changes());

    // Drift: a tag and the versioning changed behind mkso's back.
    let mut t = cloud_tags(&c, &name).await;
    t.insert("team".into(), "zzz".into());
    let set: Vec<Tag> = t
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build().unwrap())
        .collect();
    c.put_bucket_tagging()
        .bucket(&name)
        .tagging(Tagging::builder().set_tag_set(Some(set)).build().unwrap())
        .send()
        .await
        .unwrap();
    c.put_bucket_versioning()
        .bucket(&name)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let r = env.refresh(&*program(v2.clone())).await;
    let d = r.drift.iter().find(|d| d.urn.name() == "assets").unwrap();
    assert_eq!(
        d.kind,
        DriftKind::Changed(vec!["tags".into(), "versioning".into()])
    );
    let plan = env.up(&*program(v2.clone())).await;
    assert_eq!(op(&plan, "assets"), Op::Update);
    assert_eq!(cloud_tags(&c, &name).await["team"], "b", "set back");
    assert!(!versioning(&c, &name).await, "set back");

    // An object in it: delete without force_destroy fails, naming the fix.
    c.put_object()
        .bucket(&name)
        .key("index.html")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"hello"))
        .send()
        .await
        .unwrap();
    let (_, out) = env.try_up(&*empty()).await;
    assert_eq!(out.failures.len(), 1);
    assert!(
        out.failures[0].error.contains("still holds objects")
            && out.failures[0].error.contains("force_destroy"),
        "{}",
        out.failures[0].error
    );
    assert!(exists(&c, &name).await);

    // Deleted behind mkso's back: refresh reports it, up recreates it.
    c.delete_object()
        .bucket(&name)
        .key("index.html")
        .send()
        .await
        .unwrap();
    c.delete_bucket().bucket(&name).send().await.unwrap();
    let r = env.refresh(&*program(v2.clone())).await;
    let d = r.drift.iter().find(|d| d.urn.name() == "assets").unwrap();
    assert_eq!(d.kind, DriftKind::Deleted);
    let plan = env.up(&*program(v2.clone())).await;
    assert_eq!(op(&plan, "assets"), Op::Create);
    assert!(exists(&c, &name).await);

    // Replace: a new name (the old bucket is deleted).
    let renamed = format!("{name}-2");
    let v3 = B {
        name: renamed.clone(),
        force_destroy: true,
        ..v2.clone()
    };
    let plan = env.up(&*program(v3.clone())).await;
    assert_eq!(op(&plan, "assets"), Op::Replace);
    assert!(exists(&c, &renamed).await && !exists(&c, &name).await);

    // Import it into another stack (adopted by name, nothing created), then
    // forget it there.
    let other = Env::new("BucketImport");
    let plan = other
        .up(&*program(B {
            import: Some(renamed.clone()),
            ..v3.clone()
        }))
        .await;
    assert_eq!(op(&plan, "assets"), Op::Import);
    assert_eq!(other.id("assets").await, renamed);
    other
        .up(&*program(B {
            retain: true,
            ..v3.clone()
        }))
        .await;
    other.up(&*empty()).await;
    assert!(
        exists(&c, &renamed).await,
        "retained: forgotten, not deleted"
    );

    // Delete with force_destroy: its objects (all versions) go with it.
    c.put_object()
        .bucket(&renamed)
        .key("a.txt")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"a"))
        .send()
        .await
        .unwrap();
    let plan = env.up(&*empty()).await;
    assert_eq!(op(&plan, "assets"), Op::Delete);
    assert!(!exists(&c, &renamed).await);
}

#[tokio::test]
async fn an_interrupted_create_is_adopted_and_a_taken_name_is_refused() {
    let env = Env::new("BucketAdopt");
    let c = env.s3().await.clone();
    let name = format!("mkso-it-adopt-{}", std::process::id());
    let b = B {
        name: name.clone(),
        versioning: false,
        sse: None,
        block: true,
        force_destroy: true,
        team: "a",
        import: None,
        retain: false,
    };
    // What an interrupted create left: the bucket, tagged with the urn.
    c.create_bucket().bucket(&name).send().await.unwrap();
    let urn = format!(
        "urn:mkso:{}::aws-test::aws:s3:Bucket::assets",
        env.stack.as_str()
    );
    c.put_bucket_tagging()
        .bucket(&name)
        .tagging(
            Tagging::builder()
                .tag_set(Tag::builder().key("mkso:urn").value(urn).build().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    env.up(&*program(b.clone())).await;
    assert_eq!(env.id("assets").await, name, "adopted");
    assert_eq!(cloud_tags(&c, &name).await["team"], "a", "made to match");
    assert!(!env.preview(&*program(b.clone())).await.has_changes());

    // Another stack wants the same name: refused, naming what to do.
    let other = Env::new("BucketTaken");
    let (_, out) = other.try_up(&*program(b.clone())).await;
    assert_eq!(out.failures.len(), 1);
    let e = &out.failures[0].error;
    assert!(
        e.contains(&format!("the name `{name}` is taken")) && e.contains("import option"),
        "{e}"
    );
    env.up(&*empty()).await;
    assert!(!exists(&c, &name).await);
}
