//! IAM (`iam` feature): [`Role`], [`Policy`], [`RolePolicyAttachment`] and
//! [`InstanceProfile`], on `aws-sdk-iam`.
//!
//! IAM names are global to the account: by default
//! `<stack>-<resource name>-<hash>` (the hash: 8 hex digits of the URN), so
//! an interrupted create finds its role, policy or profile again by name and
//! adopts it when its `mkso:urn` tag is this resource's; a name held by
//! anything else is refused, naming the import option. Policy documents are
//! compared as JSON (IAM hands them back URL-encoded and reformatted): a
//! document that means the same is no drift.

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::{PolicyScopeType, Tag};
use mkso::ProviderError;
use mkso::typed::{Created, CustomResource, Observed, Planned};

use super::common::{Cx, ReadResult, Result, Update, found, unless_default};
use super::{
    InstanceProfile, InstanceProfileInputs, InstanceProfileOutputs, Policy, PolicyInputs,
    PolicyOutputs, Role, RoleInputs, RoleOutputs, RolePolicyAttachment, RolePolicyAttachmentInputs,
    RolePolicyAttachmentOutputs, Tags,
};
use crate::error::classify;
use crate::tags;

/// One IAM call on one resource: the client, errors classified.
struct Iam<'a> {
    cx: &'a Cx<'a>,
    c: &'a Client,
}

impl<'a> Iam<'a> {
    async fn of(cx: &'a Cx<'a>) -> Iam<'a> {
        Iam {
            cx,
            c: cx.provider.iam().await,
        }
    }

    fn err<E>(&self, op: &'static str) -> impl FnOnce(SdkError<E>) -> ProviderError + '_
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        move |e| {
            tracing::debug!(op, urn = %self.cx.urn(), "IAM call failed");
            classify(
                e,
                &format!("{op} of `{}`", self.cx.name()),
                &self.cx.provider.endpoint,
            )
        }
    }

    fn full_tags(&self, own: &Tags) -> Vec<Tag> {
        tags::full_tags(self.cx.identity, &self.cx.provider.config.default_tags, own)
            .into_iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect()
    }

    fn own_tags(&self, have: &[Tag]) -> Tags {
        tags::observed_own_tags(
            self.cx.identity,
            &self.cx.provider.config.default_tags,
            &from_sdk(have),
        )
    }

    fn is_mine(&self, have: &[Tag]) -> bool {
        have.iter()
            .any(|t| t.key() == "mkso:urn" && t.value() == self.cx.urn().as_str())
    }

    /// What to tag and untag to go from `old` own tags to `new` ones (a
    /// managed tag recorded among the own ones is what the cloud has for
    /// it, changed behind mkso's back: set back).
    fn tag_changes(&self, old: &Tags, new: &Tags) -> (Vec<Tag>, Vec<String>) {
        let defaults = &self.cx.provider.config.default_tags;
        let (set, unset) = tags::changes(self.cx.identity, defaults, old, new);
        let set = set
            .iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect();
        (set, unset)
    }
}

fn from_sdk(t: &[Tag]) -> BTreeMap<String, String> {
    t.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// The failure of a create whose name something else holds.
fn taken(what: &str, kind: &str, name: &str) -> ProviderError {
    ProviderError::permanent(format!(
        "{what}: the {kind} name `{name}` is taken (IAM names are global to the account, and this one is not tagged as this resource's): set another `name`, or adopt it with the import option"
    ))
    .with_code("EntityAlreadyExists")
}

/// A name IAM accepts: `max` characters of letters, digits and `+=,.@_-`.
fn name_problem(kind: &str, name: &str, max: usize) -> Option<String> {
    let ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    (name.is_empty() || name.len() > max || !ok).then(|| {
        format!("`{name}` is not a valid {kind} name: 1 to {max} letters, digits and `+=,.@_-`")
    })
}

/// The name of an IAM resource: the program's, or
/// `<stack>-<resource name>-<hash>` in the characters IAM allows. The hash
/// covers the URN and, when set, the other inputs whose change replaces the
/// resource (`variant`): a replacement is created under a new name next to
/// the old copy.
fn iam_name(cx: &Cx<'_>, given: Option<&String>, max: usize, variant: &[Option<String>]) -> String {
    if let Some(n) = given {
        return n.clone();
    }
    super::naming::default_name(
        cx.identity.stack.as_str(),
        cx.identity.name(),
        &super::naming::hashed(cx.urn().as_str(), variant),
        max,
        |c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c),
    )
}

/// A policy document as IAM hands it back (URL-encoded by IAM, plain by
/// some emulators) parsed as JSON.
fn document(raw: &str) -> Option<serde_json::Value> {
    serde_json::from_str(raw).ok().or_else(|| {
        let decoded = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .ok()?;
        serde_json::from_str(&decoded).ok()
    })
}

/// The recorded document when the cloud's means the same (no drift from
/// formatting), else the cloud's (decoded).
fn observed_document(recorded: Option<&String>, cloud: &str) -> String {
    let cloud_doc = document(cloud);
    match recorded {
        Some(r) if cloud_doc.is_some() && document(r) == cloud_doc => r.clone(),
        _ => cloud_doc.map_or_else(|| cloud.to_string(), |d| d.to_string()),
    }
}

/// A document that does not parse as JSON, as a check failure.
fn document_problem(key: &str, doc: &Planned<String>) -> Option<(String, String)> {
    match doc {
        Planned::Known(d) if serde_json::from_str::<serde_json::Value>(d).is_err() => Some((
            key.to_string(),
            "is not a JSON policy document (build it with serde_json::json!(..).to_string())"
                .to_string(),
        )),
        _ => None,
    }
}

fn role_outputs(r: &aws_sdk_iam::types::Role) -> RoleOutputs {
    RoleOutputs {
        id: r.role_name().to_string(),
        arn: r.arn().to_string(),
        unique_id: r.role_id().to_string(),
    }
}

impl Iam<'_> {
    async fn role(&self, name: &str) -> Result<Option<aws_sdk_iam::types::Role>> {
        let r = self
            .c
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(self.err("GetRole"));
        Ok(found(r)?.and_then(|o| o.role))
    }
}

#[mkso::async_trait]
impl CustomResource<crate::AwsState> for Role {
    /// A given name that stays: the old role goes first.
    fn delete_before_replace_planned(
        new: &Self::Planned,
        changes: &[mkso::typed::PropertyChange],
    ) -> bool {
        super::common::keeps_given_name(&new.name, "name", changes)
    }

    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Planned::Known(Some(n)) = &i.name
            && let Some(p) = name_problem("role", n, 64)
        {
            out.push(("name".to_string(), p));
        }
        out.extend(document_problem(
            "assume_role_policy",
            &i.assume_role_policy,
        ));
        out
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let iam = Iam::of(cx).await;
        let name = iam_name(cx, i.name.as_ref(), 64, std::slice::from_ref(&i.path));
        if iam.role(&name).await?.is_some() {
            return Err(taken(
                &format!("CreateRole of `{}`", cx.name()),
                "role",
                &name,
            ));
        }
        let out = iam
            .c
            .create_role()
            .role_name(&name)
            .path(i.path.as_deref().unwrap_or("/"))
            .assume_role_policy_document(&i.assume_role_policy)
            .set_description(i.description.clone())
            .set_max_session_duration(i.max_session_duration)
            .set_tags(Some(iam.full_tags(&i.tags)))
            .send()
            .await
            .map_err(iam.err("CreateRole"))?;
        let role = out
            .role
            .ok_or_else(|| ProviderError::retryable("CreateRole answered without the role"))?;
        Ok(Created {
            id: name,
            outputs: role_outputs(&role),
        })
    }

    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let iam = Iam::of(cx).await;
        let name = iam_name(cx, i.name.as_ref(), 64, std::slice::from_ref(&i.path));
        let Some(role) = iam.role(&name).await? else {
            return Ok(None);
        };
        // (GetRole answers with the role's tags.)
        Ok(iam.is_mine(role.tags()).then(|| Created {
            id: name,
            outputs: role_outputs(&role),
        }))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let iam = Iam::of(cx).await;
        let Some(role) = iam.role(id).await? else {
            return Err(ProviderError::not_found(format!(
                "role `{id}` does not exist"
            )));
        };
        let inputs = RoleInputs {
            name: recorded.map_or(Some(id.to_string()), |r| r.name.clone()),
            path: unless_default(
                recorded.and_then(|r| r.path.clone()),
                role.path().to_string(),
                "/".to_string(),
            ),
            assume_role_policy: observed_document(
                recorded.map(|r| &r.assume_role_policy),
                role.assume_role_policy_document().unwrap_or("{}"),
            ),
            description: role
                .description()
                .map(String::from)
                .filter(|d| !d.is_empty()),
            max_session_duration: unless_default(
                recorded.and_then(|r| r.max_session_duration),
                role.max_session_duration().unwrap_or(3600),
                3600,
            ),
            tags: iam.own_tags(role.tags()),
        };
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(inputs),
            outputs: role_outputs(&role),
        })
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let iam = Iam::of(cx).await;
        let (o, n) = (ch.old, ch.new);
        if document(&o.assume_role_policy) != document(&n.assume_role_policy) {
            iam.c
                .update_assume_role_policy()
                .role_name(ch.id)
                .policy_document(&n.assume_role_policy)
                .send()
                .await
                .map_err(iam.err("UpdateAssumeRolePolicy"))?;
        }
        if o.description != n.description || o.max_session_duration != n.max_session_duration {
            iam.c
                .update_role()
                .role_name(ch.id)
                .description(n.description.clone().unwrap_or_default())
                .max_session_duration(n.max_session_duration.unwrap_or(3600))
                .send()
                .await
                .map_err(iam.err("UpdateRole"))?;
        }
        let (set, unset) = iam.tag_changes(&o.tags, &n.tags);
        if !unset.is_empty() {
            iam.c
                .untag_role()
                .role_name(ch.id)
                .set_tag_keys(Some(unset))
                .send()
                .await
                .map_err(iam.err("UntagRole"))?;
        }
        if !set.is_empty() {
            iam.c
                .tag_role()
                .role_name(ch.id)
                .set_tags(Some(set))
                .send()
                .await
                .map_err(iam.err("TagRole"))?;
        }
        Ok(ch.old_outputs.clone())
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        let iam = Iam::of(cx).await;
        iam.c
            .delete_role()
            .role_name(id)
            .send()
            .await
            .map_err(|e| {
                let conflict = e.code() == Some("DeleteConflict");
                let mut pe = iam.err("DeleteRole")(e);
                if conflict {
                    pe.message = format!(
                        "{}: role `{id}` still has policies attached or is in an instance profile that mkso does not manage; detach them, or declare them as RolePolicyAttachment / InstanceProfile resources",
                        pe.message
                    );
                }
                pe
            })?;
        Ok(())
    }
}

impl Iam<'_> {
    /// The policy of this name (a customer-managed one, any path).
    async fn policy_by_name(&self, name: &str) -> Result<Option<aws_sdk_iam::types::Policy>> {
        let mut marker = None;
        loop {
            let page = self
                .c
                .list_policies()
                .scope(PolicyScopeType::Local)
                .set_marker(marker)
                .send()
                .await
                .map_err(self.err("ListPolicies"))?;
            if let Some(p) = page
                .policies()
                .iter()
                .find(|p| p.policy_name() == Some(name))
            {
                return Ok(Some(p.clone()));
            }
            if !page.is_truncated() {
                return Ok(None);
            }
            marker = page.marker;
        }
    }

    async fn policy(&self, arn: &str) -> Result<Option<aws_sdk_iam::types::Policy>> {
        let r = self
            .c
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(self.err("GetPolicy"));
        Ok(found(r)?.and_then(|o| o.policy))
    }

    async fn policy_tags(&self, arn: &str) -> Result<Vec<Tag>> {
        Ok(self
            .c
            .list_policy_tags()
            .policy_arn(arn)
            .send()
            .await
            .map_err(self.err("ListPolicyTags"))?
            .tags)
    }

    /// The versions of a policy, oldest first: (id, default).
    async fn policy_versions(&self, arn: &str) -> Result<Vec<(String, bool)>> {
        let out = self
            .c
            .list_policy_versions()
            .policy_arn(arn)
            .send()
            .await
            .map_err(self.err("ListPolicyVersions"))?;
        let mut v: Vec<_> = out
            .versions()
            .iter()
            .filter_map(|v| {
                Some((
                    v.create_date().copied(),
                    v.version_id()?.to_string(),
                    v.is_default_version(),
                ))
            })
            .collect();
        v.sort_by_key(|a| a.0);
        Ok(v.into_iter().map(|(_, id, d)| (id, d)).collect())
    }

    async fn delete_policy_version(&self, arn: &str, version: &str) -> Result<()> {
        self.c
            .delete_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(self.err("DeletePolicyVersion"))?;
        Ok(())
    }
}

fn policy_outputs(p: &aws_sdk_iam::types::Policy) -> PolicyOutputs {
    let arn = p.arn().unwrap_or_default().to_string();
    PolicyOutputs {
        id: arn.clone(),
        arn,
        name: p.policy_name().unwrap_or_default().to_string(),
        default_version_id: p.default_version_id().unwrap_or_default().to_string(),
    }
}

#[mkso::async_trait]
impl CustomResource<crate::AwsState> for Policy {
    /// A given name that stays: the old policy goes first.
    fn delete_before_replace_planned(
        new: &Self::Planned,
        changes: &[mkso::typed::PropertyChange],
    ) -> bool {
        super::common::keeps_given_name(&new.name, "name", changes)
    }

    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Planned::Known(Some(n)) = &i.name
            && let Some(p) = name_problem("policy", n, 128)
        {
            out.push(("name".to_string(), p));
        }
        out.extend(document_problem("policy", &i.policy));
        out
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let iam = Iam::of(cx).await;
        let name = iam_name(
            cx,
            i.name.as_ref(),
            128,
            &[i.path.clone(), i.description.clone()],
        );
        if iam.policy_by_name(&name).await?.is_some() {
            return Err(taken(
                &format!("CreatePolicy of `{}`", cx.name()),
                "policy",
                &name,
            ));
        }
        let out = iam
            .c
            .create_policy()
            .policy_name(&name)
            .path(i.path.as_deref().unwrap_or("/"))
            .policy_document(&i.policy)
            .set_description(i.description.clone())
            .set_tags(Some(iam.full_tags(&i.tags)))
            .send()
            .await
            .map_err(iam.err("CreatePolicy"))?;
        let p = out
            .policy
            .ok_or_else(|| ProviderError::retryable("CreatePolicy answered without the policy"))?;
        let outputs = policy_outputs(&p);
        Ok(Created {
            id: outputs.arn.clone(),
            outputs,
        })
    }

    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let iam = Iam::of(cx).await;
        let name = iam_name(
            cx,
            i.name.as_ref(),
            128,
            &[i.path.clone(), i.description.clone()],
        );
        let Some(p) = iam.policy_by_name(&name).await? else {
            return Ok(None);
        };
        let outputs = policy_outputs(&p);
        Ok(iam
            .is_mine(&iam.policy_tags(&outputs.arn).await?)
            .then(|| Created {
                id: outputs.arn.clone(),
                outputs,
            }))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let iam = Iam::of(cx).await;
        let Some(p) = iam.policy(id).await? else {
            return Err(ProviderError::not_found(format!(
                "policy `{id}` does not exist"
            )));
        };
        let outputs = policy_outputs(&p);
        let version = iam
            .c
            .get_policy_version()
            .policy_arn(id)
            .version_id(&outputs.default_version_id)
            .send()
            .await
            .map_err(iam.err("GetPolicyVersion"))?;
        let doc = version
            .policy_version()
            .and_then(|v| v.document())
            .unwrap_or("{}");
        let inputs = PolicyInputs {
            name: recorded.map_or(Some(outputs.name.clone()), |r| r.name.clone()),
            path: unless_default(
                recorded.and_then(|r| r.path.clone()),
                p.path().unwrap_or("/").to_string(),
                "/".to_string(),
            ),
            policy: observed_document(recorded.map(|r| &r.policy), doc),
            // IAM cannot change a policy's description: what was set stays.
            description: match recorded {
                Some(r) => r.description.clone(),
                None => p.description().map(String::from).filter(|d| !d.is_empty()),
            },
            tags: iam.own_tags(&iam.policy_tags(id).await?),
        };
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(inputs),
            outputs,
        })
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let iam = Iam::of(cx).await;
        let (o, n) = (ch.old, ch.new);
        let mut outputs = ch.old_outputs.clone();
        if document(&o.policy) != document(&n.policy) {
            // IAM keeps at most five versions: the oldest non-default one
            // goes first.
            let versions = iam.policy_versions(ch.id).await?;
            if versions.len() >= 5
                && let Some((old, _)) = versions.iter().find(|(_, default)| !default)
            {
                iam.delete_policy_version(ch.id, old).await?;
            }
            let v = iam
                .c
                .create_policy_version()
                .policy_arn(ch.id)
                .policy_document(&n.policy)
                .set_as_default(true)
                .send()
                .await
                .map_err(iam.err("CreatePolicyVersion"))?;
            if let Some(id) = v.policy_version().and_then(|v| v.version_id()) {
                outputs.default_version_id = id.to_string();
            }
        }
        let (set, unset) = iam.tag_changes(&o.tags, &n.tags);
        if !unset.is_empty() {
            iam.c
                .untag_policy()
                .policy_arn(ch.id)
                .set_tag_keys(Some(unset))
                .send()
                .await
                .map_err(iam.err("UntagPolicy"))?;
        }
        if !set.is_empty() {
            iam.c
                .tag_policy()
                .policy_arn(ch.id)
                .set_tags(Some(set))
                .send()
                .await
                .map_err(iam.err("TagPolicy"))?;
        }
        Ok(outputs)
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        let iam = Iam::of(cx).await;
        // A policy with versions besides its default cannot be deleted.
        for (v, default) in iam.policy_versions(id).await? {
            if !default {
                iam.delete_policy_version(id, &v).await?;
            }
        }
        iam.c
            .delete_policy()
            .policy_arn(id)
            .send()
            .await
            .map_err(iam.err("DeletePolicy"))?;
        Ok(())
    }
}

impl Iam<'_> {
    async fn attached(&self, role: &str, arn: &str) -> Result<bool> {
        let mut marker = None;
        loop {
            let page = self
                .c
                .list_attached_role_policies()
                .role_name(role)
                .set_marker(marker)
                .send()
                .await
                .map_err(self.err("ListAttachedRolePolicies"))?;
            if page
                .attached_policies()
                .iter()
                .any(|p| p.policy_arn() == Some(arn))
            {
                return Ok(true);
            }
            if !page.is_truncated() {
                return Ok(false);
            }
            marker = page.marker;
        }
    }
}

/// `<role>/<policy arn>` (a role name holds no `/`).
fn attachment_id(i: &RolePolicyAttachmentInputs) -> String {
    format!("{}/{}", i.role, i.policy_arn)
}

#[mkso::async_trait]
impl CustomResource<crate::AwsState> for RolePolicyAttachment {
    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let iam = Iam::of(cx).await;
        iam.c
            .attach_role_policy()
            .role_name(&i.role)
            .policy_arn(&i.policy_arn)
            .send()
            .await
            .map_err(iam.err("AttachRolePolicy"))?;
        let id = attachment_id(i);
        Ok(Created {
            id: id.clone(),
            outputs: RolePolicyAttachmentOutputs { id },
        })
    }

    /// Attaching is idempotent: an existing attachment is this one.
    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let iam = Iam::of(cx).await;
        let attached = found(iam.attached(&i.role, &i.policy_arn).await)?.unwrap_or(false);
        let id = attachment_id(i);
        Ok(attached.then(|| Created {
            id: id.clone(),
            outputs: RolePolicyAttachmentOutputs { id },
        }))
    }

    async fn read(cx: &Cx<'_>, id: &str, _: Option<&Self::Inputs>) -> ReadResult<Self> {
        let iam = Iam::of(cx).await;
        let Some((role, arn)) = id.split_once('/') else {
            return Err(ProviderError::permanent(format!(
                "`{id}` is not a role policy attachment id: use `<role name>/<policy arn>`"
            )));
        };
        if !found(iam.attached(role, arn).await)?.unwrap_or(false) {
            return Err(ProviderError::not_found(format!(
                "policy `{arn}` is not attached to role `{role}`"
            )));
        }
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(RolePolicyAttachmentInputs {
                role: role.to_string(),
                policy_arn: arn.to_string(),
            }),
            outputs: RolePolicyAttachmentOutputs { id: id.to_string() },
        })
    }

    async fn delete(cx: &Cx<'_>, _: &str, i: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        let iam = Iam::of(cx).await;
        iam.c
            .detach_role_policy()
            .role_name(&i.role)
            .policy_arn(&i.policy_arn)
            .send()
            .await
            .map_err(iam.err("DetachRolePolicy"))?;
        Ok(())
    }
}

impl Iam<'_> {
    async fn profile(&self, name: &str) -> Result<Option<aws_sdk_iam::types::InstanceProfile>> {
        let r = self
            .c
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await
            .map_err(self.err("GetInstanceProfile"));
        Ok(found(r)?.and_then(|o| o.instance_profile))
    }

    async fn set_profile_role(
        &self,
        name: &str,
        old: Option<&str>,
        new: Option<&str>,
    ) -> Result<()> {
        if let Some(r) = old {
            let removed = self
                .c
                .remove_role_from_instance_profile()
                .instance_profile_name(name)
                .role_name(r)
                .send()
                .await
                .map_err(self.err("RemoveRoleFromInstanceProfile"));
            // Already gone from it: as wanted.
            found(removed)?;
        }
        if let Some(r) = new {
            self.c
                .add_role_to_instance_profile()
                .instance_profile_name(name)
                .role_name(r)
                .send()
                .await
                .map_err(self.err("AddRoleToInstanceProfile"))?;
        }
        Ok(())
    }
}

fn profile_outputs(p: &aws_sdk_iam::types::InstanceProfile) -> InstanceProfileOutputs {
    InstanceProfileOutputs {
        id: p.instance_profile_name().to_string(),
        arn: p.arn().to_string(),
        unique_id: p.instance_profile_id().to_string(),
    }
}

#[mkso::async_trait]
impl CustomResource<crate::AwsState> for InstanceProfile {
    /// A given name that stays: the old profile goes first.
    fn delete_before_replace_planned(
        new: &Self::Planned,
        changes: &[mkso::typed::PropertyChange],
    ) -> bool {
        super::common::keeps_given_name(&new.name, "name", changes)
    }

    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        match &i.name {
            Planned::Known(Some(n)) => name_problem("instance profile", n, 128)
                .map(|p| ("name".to_string(), p))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let iam = Iam::of(cx).await;
        let name = iam_name(cx, i.name.as_ref(), 128, std::slice::from_ref(&i.path));
        if iam.profile(&name).await?.is_some() {
            return Err(taken(
                &format!("CreateInstanceProfile of `{}`", cx.name()),
                "instance profile",
                &name,
            ));
        }
        let out = iam
            .c
            .create_instance_profile()
            .instance_profile_name(&name)
            .path(i.path.as_deref().unwrap_or("/"))
            .set_tags(Some(iam.full_tags(&i.tags)))
            .send()
            .await
            .map_err(iam.err("CreateInstanceProfile"))?;
        let p = out.instance_profile.ok_or_else(|| {
            ProviderError::retryable("CreateInstanceProfile answered without the profile")
        })?;
        iam.set_profile_role(&name, None, i.role.as_deref()).await?;
        Ok(Created {
            id: name,
            outputs: profile_outputs(&p),
        })
    }

    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let iam = Iam::of(cx).await;
        let name = iam_name(cx, i.name.as_ref(), 128, std::slice::from_ref(&i.path));
        let Some(p) = iam.profile(&name).await? else {
            return Ok(None);
        };
        // (GetInstanceProfile answers with its tags.)
        if !iam.is_mine(p.tags()) {
            return Ok(None);
        }
        // An interrupted create may have stopped before the role was added.
        if p.roles().is_empty() {
            iam.set_profile_role(&name, None, i.role.as_deref()).await?;
        }
        Ok(Some(Created {
            id: name,
            outputs: profile_outputs(&p),
        }))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let iam = Iam::of(cx).await;
        let Some(p) = iam.profile(id).await? else {
            return Err(ProviderError::not_found(format!(
                "instance profile `{id}` does not exist"
            )));
        };
        let inputs = InstanceProfileInputs {
            name: recorded.map_or(Some(id.to_string()), |r| r.name.clone()),
            path: unless_default(
                recorded.and_then(|r| r.path.clone()),
                p.path().to_string(),
                "/".to_string(),
            ),
            role: p.roles().first().map(|r| r.role_name().to_string()),
            tags: iam.own_tags(p.tags()),
        };
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(inputs),
            outputs: profile_outputs(&p),
        })
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let iam = Iam::of(cx).await;
        let (o, n) = (ch.old, ch.new);
        if o.role != n.role {
            iam.set_profile_role(ch.id, o.role.as_deref(), n.role.as_deref())
                .await?;
        }
        let (set, unset) = iam.tag_changes(&o.tags, &n.tags);
        if !unset.is_empty() {
            iam.c
                .untag_instance_profile()
                .instance_profile_name(ch.id)
                .set_tag_keys(Some(unset))
                .send()
                .await
                .map_err(iam.err("UntagInstanceProfile"))?;
        }
        if !set.is_empty() {
            iam.c
                .tag_instance_profile()
                .instance_profile_name(ch.id)
                .set_tags(Some(set))
                .send()
                .await
                .map_err(iam.err("TagInstanceProfile"))?;
        }
        Ok(ch.old_outputs.clone())
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        let iam = Iam::of(cx).await;
        // Its roles are let go first (a profile with a role cannot be deleted).
        if let Some(p) = iam.profile(id).await? {
            for r in p.roles() {
                iam.set_profile_role(id, Some(r.role_name()), None).await?;
            }
        }
        iam.c
            .delete_instance_profile()
            .instance_profile_name(id)
            .send()
            .await
            .map_err(iam.err("DeleteInstanceProfile"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_compare_as_json_whatever_their_encoding() {
        let mine = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let encoded = "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%7B%22Effect%22%3A%20%22Allow%22%2C%20%22Principal%22%3A%20%7B%22Service%22%3A%20%22ec2.amazonaws.com%22%7D%2C%20%22Action%22%3A%20%22sts%3AAssumeRole%22%7D%5D%7D";
        assert_eq!(document(mine), document(encoded));
        assert_eq!(observed_document(Some(&mine.to_string()), encoded), mine);
        let other = encoded.replace("ec2", "lambda");
        assert!(observed_document(Some(&mine.to_string()), &other).contains("lambda"));
    }

    #[test]
    fn names_follow_iam_rules() {
        assert_eq!(name_problem("role", "app-role_1+=,.@", 64), None);
        assert!(name_problem("role", "has space", 64).is_some());
        assert!(name_problem("role", &"r".repeat(65), 64).is_some());
        assert!(name_problem("role", "", 64).is_some());
    }
}
