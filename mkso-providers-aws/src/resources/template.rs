//! Launch templates: what an Auto Scaling group launches. A change of the
//! launch data is a new version made the template's default; dependents
//! follow `latest_version`.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    self as ec2, LaunchTemplateIamInstanceProfileSpecificationRequest, RequestLaunchTemplateData,
    ResourceType,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use mkso::typed::{Created, CustomResource};

use super::common::{
    Cx, ReadResult, Result, Update, by_id, by_urn, call, created, default_name, not_found,
    observed, own_tags, same_set, sync_tags, tag_spec, text, urn_filter,
};
use super::{LaunchTemplate, LaunchTemplateInputs, LaunchTemplateOutputs};
use crate::provider::AwsState;

/// The launch data of these inputs.
fn data(i: &LaunchTemplateInputs) -> RequestLaunchTemplateData {
    RequestLaunchTemplateData::builder()
        .image_id(&i.image_id)
        .instance_type(ec2::InstanceType::from(i.instance_type.as_str()))
        .set_key_name(i.key_name.clone())
        .set_security_group_ids(
            (!i.security_group_ids.is_empty()).then(|| i.security_group_ids.clone()),
        )
        .set_user_data(i.user_data.as_ref().map(|u| BASE64.encode(u)))
        .set_iam_instance_profile(i.iam_instance_profile_arn.as_ref().map(|a| {
            LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                .arn(a)
                .build()
        }))
        .build()
}

fn launch_data_changed(o: &LaunchTemplateInputs, n: &LaunchTemplateInputs) -> bool {
    LaunchTemplateInputs {
        tags: o.tags.clone(),
        ..n.clone()
    } != *o
}

fn outputs(t: &ec2::LaunchTemplate) -> LaunchTemplateOutputs {
    LaunchTemplateOutputs {
        id: text(t.launch_template_id()),
        name: text(t.launch_template_name()),
        latest_version: t.latest_version_number().unwrap_or(1),
    }
}

async fn describe(cx: &Cx<'_>, id: &str) -> Result<ec2::LaunchTemplate> {
    let out = call(cx, "DescribeLaunchTemplates", |c| {
        c.describe_launch_templates().launch_template_ids(id).send()
    })
    .await?;
    by_id("launch template", id, out.launch_templates(), |t| {
        t.launch_template_id()
    })
}

/// User data as EC2 answers it (base64; some emulators answer it as given).
fn user_data(raw: &str) -> String {
    BASE64
        .decode(raw)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| raw.to_string())
}

#[async_trait]
impl CustomResource<AwsState> for LaunchTemplate {
    /// A given name that stays: the old template goes first.
    fn delete_before_replace_planned(
        new: &Self::Planned,
        changes: &[mkso::typed::PropertyChange],
    ) -> bool {
        super::common::keeps_given_name(&new.name, "name", changes)
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let name = i.name.clone().unwrap_or_else(|| default_name(cx));
        let out = call(cx, "CreateLaunchTemplate", |c| {
            c.create_launch_template()
                .launch_template_name(&name)
                .launch_template_data(data(i))
                .tag_specifications(tag_spec(cx, ResourceType::LaunchTemplate, &i.tags))
                .send()
        })
        .await?;
        let t = out
            .launch_template()
            .ok_or_else(|| not_found("launch template", &name))?;
        Ok(created(text(t.launch_template_id()), outputs(t)))
    }

    async fn find(cx: &Cx<'_>, _: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribeLaunchTemplates", |c| {
            c.describe_launch_templates().filters(urn_filter(cx)).send()
        })
        .await?;
        let found = by_urn(cx, out.launch_templates(), |t| t.tags());
        Ok(found.map(|t| created(text(t.launch_template_id()), outputs(t))))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let t = describe(cx, id).await?;
        let out = call(cx, "DescribeLaunchTemplateVersions", |c| {
            c.describe_launch_template_versions()
                .launch_template_id(id)
                .versions("$Default")
                .send()
        })
        .await?;
        let d = out
            .launch_template_versions()
            .first()
            .and_then(|v| v.launch_template_data())
            .ok_or_else(|| not_found("default version of launch template", id))?;
        let inputs = LaunchTemplateInputs {
            name: match recorded {
                Some(r) => r.name.clone(),
                None => t.launch_template_name().map(String::from),
            },
            image_id: text(d.image_id()),
            instance_type: text(d.instance_type().map(|t| t.as_str())),
            key_name: d.key_name().map(String::from),
            security_group_ids: same_set(
                recorded.map(|r| &r.security_group_ids),
                d.security_group_ids().to_vec(),
            ),
            user_data: d.user_data().map(user_data),
            iam_instance_profile_arn: d
                .iam_instance_profile()
                .and_then(|p| p.arn())
                .map(String::from),
            tags: own_tags(cx, t.tags()),
        };
        Ok(observed(id, inputs, outputs(&t)))
    }

    /// New launch data: a new version, made the default.
    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let (o, n) = (ch.old, ch.new);
        if launch_data_changed(o, n) {
            let out = call(cx, "CreateLaunchTemplateVersion", |c| {
                c.create_launch_template_version()
                    .launch_template_id(ch.id)
                    .launch_template_data(data(n))
                    .send()
            })
            .await?;
            let version = out
                .launch_template_version()
                .and_then(|v| v.version_number())
                .ok_or_else(|| not_found("new version of launch template", ch.id))?;
            call(cx, "ModifyLaunchTemplate", |c| {
                c.modify_launch_template()
                    .launch_template_id(ch.id)
                    .default_version(version.to_string())
                    .send()
            })
            .await?;
        }
        sync_tags(cx, ch.id, &o.tags, &n.tags).await?;
        Ok(outputs(&describe(cx, ch.id).await?))
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        call(cx, "DeleteLaunchTemplate", |c| {
            c.delete_launch_template().launch_template_id(id).send()
        })
        .await?;
        Ok(())
    }
}
