//! S3 (`s3` feature): [`Bucket`], with versioning, default encryption and
//! the public-access block, on `aws-sdk-s3`.
//!
//! A bucket's name is global: by default `<stack>-<resource name>`, lower
//! case, so an interrupted create finds its bucket again by name (and adopts
//! it when its `mkso:urn` tag is this resource's). Its tags are set whole
//! (`PutBucketTagging` replaces the set), managed tags included.

use std::collections::BTreeMap;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, Delete,
    ObjectIdentifier, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};
use mkso::ProviderError;
use mkso::typed::{Created, CustomResource, Observed, Planned};

use super::common::{Cx, ReadResult, Result, Update, unless_default};
use super::{Bucket, BucketInputs, BucketOutputs};
use crate::error::classify;
use crate::tags;

/// One S3 call on one bucket: the client, and errors classified with S3's
/// own not-found codes.
struct S3<'a> {
    cx: &'a Cx<'a>,
    c: &'a Client,
}

/// S3's answers that mean "not there" (its codes do not end in `NotFound`).
const GONE: &[&str] = &["NoSuchBucket", "NotFound"];
/// S3's answers that mean "this bucket has no such configuration".
const UNSET: &[&str] = &[
    "NoSuchTagSet",
    "NoSuchPublicAccessBlockConfiguration",
    "ServerSideEncryptionConfigurationNotFoundError",
];

impl<'a> S3<'a> {
    async fn of(cx: &'a Cx<'a>) -> S3<'a> {
        S3 {
            cx,
            c: cx.provider.s3().await,
        }
    }

    /// Maps an SDK error of `op`: a missing bucket is not found.
    fn err<E>(&self, op: &'static str) -> impl FnOnce(SdkError<E>) -> ProviderError + '_
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        move |e| {
            let gone = e.code().is_some_and(|c| GONE.contains(&c))
                || e.raw_response().is_some_and(|r| r.status().as_u16() == 404)
                    && e.code().is_none_or(|c| !UNSET.contains(&c));
            let what = format!("{op} of `{}`", self.cx.name());
            let mut pe = classify(e, &what, &self.cx.provider.endpoint);
            if gone {
                pe.class = mkso::ErrorClass::NotFound;
            }
            pe
        }
    }

    /// `Ok(None)` for an answer that the configuration is not set.
    fn unset<T, E>(
        r: std::result::Result<T, SdkError<E>>,
    ) -> Option<std::result::Result<T, SdkError<E>>>
    where
        E: ProvideErrorMetadata,
    {
        match r {
            Err(e) if e.code().is_some_and(|c| UNSET.contains(&c)) => None,
            r => Some(r),
        }
    }

    async fn exists(&self, name: &str) -> Result<bool> {
        match self.c.head_bucket().bucket(name).send().await {
            Ok(_) => Ok(true),
            Err(e) => match self.err("HeadBucket")(e) {
                e if e.class == mkso::ErrorClass::NotFound => Ok(false),
                e => Err(e),
            },
        }
    }

    async fn tags(&self, name: &str) -> Result<BTreeMap<String, String>> {
        let r = self.c.get_bucket_tagging().bucket(name).send().await;
        Ok(match Self::unset(r) {
            None => BTreeMap::new(),
            Some(r) => r
                .map_err(self.err("GetBucketTagging"))?
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
        })
    }

    async fn set_tags(&self, name: &str, own: &BTreeMap<String, String>) -> Result<()> {
        let full = tags::full_tags(self.cx.identity, &self.cx.provider.config.default_tags, own);
        let set: Vec<Tag> = full
            .iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect();
        let tagging = Tagging::builder()
            .set_tag_set(Some(set))
            .build()
            .map_err(|e| ProviderError::permanent(e.to_string()))?;
        self.c
            .put_bucket_tagging()
            .bucket(name)
            .tagging(tagging)
            .send()
            .await
            .map_err(self.err("PutBucketTagging"))?;
        Ok(())
    }

    async fn set_versioning(&self, name: &str, on: bool) -> Result<()> {
        let status = if on {
            BucketVersioningStatus::Enabled
        } else {
            BucketVersioningStatus::Suspended
        };
        self.c
            .put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(VersioningConfiguration::builder().status(status).build())
            .send()
            .await
            .map_err(self.err("PutBucketVersioning"))?;
        Ok(())
    }

    async fn set_encryption(&self, name: &str, algorithm: Option<&str>) -> Result<()> {
        let Some(a) = algorithm else {
            self.c
                .delete_bucket_encryption()
                .bucket(name)
                .send()
                .await
                .map_err(self.err("DeleteBucketEncryption"))?;
            return Ok(());
        };
        let bad = |e: aws_sdk_s3::error::BuildError| ProviderError::permanent(e.to_string());
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::from(a))
            .build()
            .map_err(bad)?;
        let conf = ServerSideEncryptionConfiguration::builder()
            .rules(
                ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(by_default)
                    .build(),
            )
            .build()
            .map_err(bad)?;
        self.c
            .put_bucket_encryption()
            .bucket(name)
            .server_side_encryption_configuration(conf)
            .send()
            .await
            .map_err(self.err("PutBucketEncryption"))?;
        Ok(())
    }

    async fn set_public_access_block(&self, name: &str, block: bool) -> Result<()> {
        if !block {
            self.c
                .delete_public_access_block()
                .bucket(name)
                .send()
                .await
                .map_err(self.err("DeletePublicAccessBlock"))?;
            return Ok(());
        }
        let conf = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        self.c
            .put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(conf)
            .send()
            .await
            .map_err(self.err("PutPublicAccessBlock"))?;
        Ok(())
    }

    /// Deletes every object version and delete marker (`force_destroy`).
    async fn empty(&self, name: &str) -> Result<()> {
        let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
        loop {
            let page = self
                .c
                .list_object_versions()
                .bucket(name)
                .set_key_marker(key_marker.clone())
                .set_version_id_marker(version_marker.clone())
                .send()
                .await
                .map_err(self.err("ListObjectVersions"))?;
            let ids: Vec<ObjectIdentifier> = page
                .versions()
                .iter()
                .map(|v| (v.key(), v.version_id()))
                .chain(
                    page.delete_markers()
                        .iter()
                        .map(|m| (m.key(), m.version_id())),
                )
                .filter_map(|(k, v)| {
                    ObjectIdentifier::builder()
                        .key(k?)
                        .set_version_id(v.map(String::from))
                        .build()
                        .ok()
                })
                .collect();
            if !ids.is_empty() {
                let delete = Delete::builder()
                    .set_objects(Some(ids))
                    .quiet(true)
                    .build()
                    .map_err(|e| ProviderError::permanent(e.to_string()))?;
                self.c
                    .delete_objects()
                    .bucket(name)
                    .delete(delete)
                    .send()
                    .await
                    .map_err(self.err("DeleteObjects"))?;
            }
            if page.is_truncated() != Some(true) {
                return Ok(());
            }
            key_marker = page.next_key_marker().map(String::from);
            version_marker = page.next_version_id_marker().map(String::from);
        }
    }

    /// What the bucket's configuration is in the cloud.
    async fn observe(&self, name: &str) -> Result<(bool, Option<String>, bool)> {
        let versioning = self
            .c
            .get_bucket_versioning()
            .bucket(name)
            .send()
            .await
            .map_err(self.err("GetBucketVersioning"))?
            .status()
            == Some(&BucketVersioningStatus::Enabled);
        let r = self.c.get_bucket_encryption().bucket(name).send().await;
        let encryption = match Self::unset(r) {
            None => None,
            Some(r) => r
                .map_err(self.err("GetBucketEncryption"))?
                .server_side_encryption_configuration()
                .and_then(|c| c.rules().first())
                .and_then(|r| r.apply_server_side_encryption_by_default())
                .map(|d| d.sse_algorithm().as_str().to_string()),
        };
        let r = self.c.get_public_access_block().bucket(name).send().await;
        let block = match Self::unset(r) {
            None => false,
            Some(r) => r
                .map_err(self.err("GetPublicAccessBlock"))?
                .public_access_block_configuration()
                .is_some_and(|c| {
                    c.block_public_acls() == Some(true)
                        && c.ignore_public_acls() == Some(true)
                        && c.block_public_policy() == Some(true)
                        && c.restrict_public_buckets() == Some(true)
                }),
        };
        Ok((versioning, encryption, block))
    }
}

/// The bucket's name: the program's, or `<stack>-<resource name>-<hash>` in
/// the characters S3 allows, the hash (8 hex digits of the SHA-256 of the
/// resource's URN) making it unlikely to be taken in the global namespace
/// while the same resource always gets the same name (an interrupted create
/// finds its bucket again).
fn bucket_name(cx: &Cx<'_>, i: &BucketInputs) -> String {
    if let Some(b) = &i.bucket {
        return b.clone();
    }
    default_name(
        cx.identity.stack.as_str(),
        cx.identity.name(),
        cx.urn().as_str(),
    )
}

fn default_name(stack: &str, name: &str, urn: &str) -> String {
    super::naming::default_name(
        &stack.to_ascii_lowercase(),
        &name.to_ascii_lowercase(),
        urn,
        63,
        |c| c.is_ascii_alphanumeric(),
    )
}

fn outputs(name: &str, region: &str) -> BucketOutputs {
    BucketOutputs {
        id: name.to_string(),
        arn: format!("arn:aws:s3:::{name}"),
        bucket_domain_name: format!("{name}.s3.amazonaws.com"),
        region: region.to_string(),
    }
}

/// The failure of a create whose bucket name another bucket has.
fn taken(what: &str, name: &str) -> ProviderError {
    ProviderError::permanent(format!(
        "{what}: the name `{name}` is taken (bucket names are global, and this bucket is not tagged as this resource's): set another `bucket` name, or adopt it with the import option"
    ))
    .with_code("BucketAlreadyExists")
}

/// Why a bucket name is refused (S3's naming rules), if it is.
fn name_problem(name: &str) -> Option<String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ends_ok = name
        .chars()
        .next()
        .zip(name.chars().last())
        .is_some_and(|(a, b)| a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric());
    (!(3..=63).contains(&name.len()) || !ok_chars || !ends_ok).then(|| {
        format!(
            "`{name}` is not a valid bucket name: 3 to 63 characters, lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit"
        )
    })
}

#[mkso::async_trait]
impl CustomResource<crate::AwsState> for Bucket {
    /// A given name that stays: the old bucket goes first.
    fn delete_before_replace_planned(
        new: &Self::Planned,
        changes: &[mkso::typed::PropertyChange],
    ) -> bool {
        super::common::keeps_given_name(&new.bucket, "bucket", changes)
    }

    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Planned::Known(Some(name)) = &i.bucket
            && let Some(p) = name_problem(name)
        {
            out.push(("bucket".to_string(), p));
        }
        if let Planned::Known(Some(a)) = &i.sse_algorithm
            && !["AES256", "aws:kms", "aws:kms:dsse"].contains(&a.as_str())
        {
            out.push((
                "sse_algorithm".to_string(),
                format!(
                    "`{a}` is not an S3 encryption algorithm: use AES256, aws:kms or aws:kms:dsse"
                ),
            ));
        }
        out
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let s3 = S3::of(cx).await;
        let name = bucket_name(cx, i);
        let region = cx.provider.config.region.clone();
        // A bucket of this name that is not this resource's (`find` adopts
        // one that is): in us-east-1 S3 answers a second CreateBucket of
        // one's own bucket with success, which would take it over.
        if s3.exists(&name).await? {
            return Err(taken(&format!("CreateBucket of `{}`", cx.name()), &name));
        }
        let mut req = s3.c.create_bucket().bucket(&name);
        if region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region.as_str()))
                    .build(),
            );
        }
        req.send().await.map_err(|e| {
            let exists = matches!(
                e.code(),
                Some("BucketAlreadyExists" | "BucketAlreadyOwnedByYou")
            );
            let pe = s3.err("CreateBucket")(e);
            if exists {
                taken(&pe.message, &name)
            } else {
                pe
            }
        })?;
        s3.set_tags(&name, &i.tags).await?;
        if i.versioning {
            s3.set_versioning(&name, true).await?;
        }
        if let Some(a) = &i.sse_algorithm {
            s3.set_encryption(&name, Some(a)).await?;
        }
        if i.block_public_access.unwrap_or(true) {
            s3.set_public_access_block(&name, true).await?;
        }
        Ok(Created {
            id: name.clone(),
            outputs: outputs(&name, &region),
        })
    }

    /// The bucket of this name, when it carries this resource's `mkso:urn`.
    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let s3 = S3::of(cx).await;
        let name = bucket_name(cx, i);
        if !s3.exists(&name).await? {
            return Ok(None);
        }
        let t = s3.tags(&name).await?;
        Ok(
            (t.get("mkso:urn").map(String::as_str) == Some(cx.urn().as_str())).then(|| Created {
                id: name.clone(),
                outputs: outputs(&name, &cx.provider.config.region),
            }),
        )
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let s3 = S3::of(cx).await;
        if !s3.exists(id).await? {
            return Err(ProviderError::not_found(format!(
                "bucket `{id}` does not exist"
            )));
        }
        let (versioning, sse_algorithm, block_public_access) = s3.observe(id).await?;
        let own = tags::observed_own_tags(
            cx.identity,
            &cx.provider.config.default_tags,
            &s3.tags(id).await?,
        );
        let inputs = BucketInputs {
            bucket: recorded.map_or(Some(id.to_string()), |r| r.bucket.clone()),
            versioning,
            sse_algorithm: match recorded {
                // S3 encrypts with AES256 when nothing is set: a program
                // that sets nothing sees no drift there.
                Some(r)
                    if r.sse_algorithm.is_none() && sse_algorithm.as_deref() == Some("AES256") =>
                {
                    None
                }
                _ => sse_algorithm,
            },
            block_public_access: unless_default(
                recorded.and_then(|r| r.block_public_access),
                block_public_access,
                true,
            ),
            force_destroy: recorded.is_some_and(|r| r.force_destroy),
            tags: own,
        };
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(inputs),
            outputs: outputs(id, &cx.provider.config.region),
        })
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let s3 = S3::of(cx).await;
        let (o, n) = (ch.old, ch.new);
        if o.versioning != n.versioning {
            s3.set_versioning(ch.id, n.versioning).await?;
        }
        if o.sse_algorithm != n.sse_algorithm {
            s3.set_encryption(ch.id, n.sse_algorithm.as_deref()).await?;
        }
        let block = n.block_public_access.unwrap_or(true);
        if o.block_public_access.unwrap_or(true) != block {
            s3.set_public_access_block(ch.id, block).await?;
        }
        if o.tags != n.tags {
            s3.set_tags(ch.id, &n.tags).await?;
        }
        Ok(ch.old_outputs.clone())
    }

    async fn delete(cx: &Cx<'_>, id: &str, i: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        let s3 = S3::of(cx).await;
        if i.force_destroy {
            s3.empty(id).await?;
        }
        s3.c.delete_bucket().bucket(id).send().await.map_err(|e| {
            let not_empty = e.code() == Some("BucketNotEmpty");
            let mut pe = s3.err("DeleteBucket")(e);
            if not_empty {
                pe.class = mkso::ErrorClass::Permanent;
                pe.message = format!(
                    "{}: bucket `{id}` still holds objects; empty it, or set `force_destroy(true)` to let mkso delete them with the bucket",
                    pe.message
                );
            }
            pe
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::name_problem;

    #[test]
    fn default_names_are_valid_stable_and_distinct() {
        let a = super::default_name(
            "aws.app.QA",
            "web/assets",
            "urn:mkso:aws.app.QA::p::aws:s3:Bucket::web/assets",
        );
        assert!(a.starts_with("aws-app-qa-web-assets-"), "{a}");
        assert_eq!(name_problem(&a), None);
        let b = super::default_name(
            "aws.app.QA",
            "web/assets",
            "urn:mkso:aws.app.QA::q::aws:s3:Bucket::web/assets",
        );
        assert_ne!(a, b);
        let long = super::default_name(&"s".repeat(80), "x", "u");
        assert_eq!(long.len(), 63);
        assert_eq!(name_problem(&long), None);
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert_eq!(name_problem("my-assets.qa"), None);
        for bad in [
            "ab",
            "My-Assets",
            "-assets",
            "assets-",
            "a_b_c",
            &"a".repeat(64),
        ] {
            assert!(name_problem(bad).is_some(), "{bad}");
        }
    }
}
