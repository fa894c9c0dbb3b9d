//! EBS: volumes and their attachments to instances.

use async_trait::async_trait;
use aws_sdk_ec2::client::Waiters;
use aws_sdk_ec2::types::{self as ec2, ResourceType, VolumeType};
use mkso::ProviderError;
use mkso::typed::{Created, CustomResource};

use super::common::{
    Cx, ReadResult, Result, Update, by_id, by_urn, call, call_unless, created, existing, observed,
    own_tags, sync_tags, tag_spec, text, unless_default, unless_unset, urn_filter, wait,
};
use super::{
    Volume, VolumeAttachment, VolumeAttachmentInputs, VolumeAttachmentOutputs, VolumeInputs,
    VolumeOutputs,
};
use crate::provider::AwsState;

// ---- Volume ----

fn volume_outputs(v: &ec2::Volume) -> VolumeOutputs {
    VolumeOutputs {
        id: text(v.volume_id()),
        availability_zone: text(v.availability_zone()),
    }
}

async fn describe_volume(cx: &Cx<'_>, id: &str) -> Result<ec2::Volume> {
    let out = call(cx, "DescribeVolumes", |c| {
        c.describe_volumes().volume_ids(id).send()
    })
    .await?;
    let live = out
        .volumes()
        .iter()
        .filter(|v| v.state() != Some(&ec2::VolumeState::Deleted));
    by_id("volume", id, live, |v| v.volume_id())
}

#[async_trait]
impl CustomResource<AwsState> for Volume {
    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let out = call(cx, "CreateVolume", |c| {
            c.create_volume()
                .availability_zone(&i.availability_zone)
                .size(i.size)
                .set_volume_type(i.volume_type.as_deref().map(VolumeType::from))
                .set_encrypted(i.encrypted)
                .tag_specifications(tag_spec(cx, ResourceType::Volume, &i.tags))
                .send()
        })
        .await?;
        let id = text(out.volume_id());
        wait(cx, &format!("volume {id} to be available"), |c, t| {
            c.wait_until_volume_available().volume_ids(&id).wait(t)
        })
        .await?;
        Ok(created(
            &id,
            volume_outputs(&describe_volume(cx, &id).await?),
        ))
    }

    async fn find(cx: &Cx<'_>, _: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribeVolumes", |c| {
            c.describe_volumes().filters(urn_filter(cx)).send()
        })
        .await?;
        let live = out
            .volumes()
            .iter()
            .filter(|v| v.state() != Some(&ec2::VolumeState::Deleted));
        let found = by_urn(cx, live, |v| v.tags());
        Ok(found.map(|v| created(text(v.volume_id()), volume_outputs(v))))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let v = describe_volume(cx, id).await?;
        let inputs = VolumeInputs {
            availability_zone: text(v.availability_zone()),
            size: v.size().unwrap_or_default(),
            volume_type: v.volume_type().and_then(|t| {
                unless_unset(recorded.map(|r| &r.volume_type), t.as_str().to_string())
            }),
            // Unset in the program: the account's default, whatever it
            // made; on import, unencrypted reads as unset.
            encrypted: v.encrypted().and_then(|e| match recorded {
                Some(r) => unless_unset(Some(&r.encrypted), e),
                None => unless_default(None, e, false),
            }),
            tags: own_tags(cx, v.tags()),
        };
        Ok(observed(id, inputs, volume_outputs(&v)))
    }

    /// Size and type change in place (`ModifyVolume`; a volume only grows).
    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let (o, n) = (ch.old, ch.new);
        if n.size < o.size {
            return Err(ProviderError::permanent(format!(
                "volume `{}` cannot shrink from {} GiB to {} GiB: EBS volumes only grow; keep the size, or replace the volume (`replace_on_changes([\"size\"])`) after copying its data",
                cx.name(),
                o.size,
                n.size
            )));
        }
        if o.size != n.size || o.volume_type != n.volume_type {
            call(cx, "ModifyVolume", |c| {
                c.modify_volume()
                    .volume_id(ch.id)
                    .size(n.size)
                    .set_volume_type(n.volume_type.as_deref().map(VolumeType::from))
                    .send()
            })
            .await?;
        }
        sync_tags(cx, ch.id, &o.tags, &n.tags).await?;
        Ok(volume_outputs(&describe_volume(cx, ch.id).await?))
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        call(cx, "DeleteVolume", |c| {
            c.delete_volume().volume_id(id).send()
        })
        .await?;
        Ok(())
    }
}

// ---- Volume attachment ----

/// The attachment's id: `<volume id>:<instance id>`.
fn attachment_id(volume: &str, instance: &str) -> String {
    format!("{volume}:{instance}")
}

/// The attachment of `volume` to `instance`, when there is one.
async fn attachment(
    cx: &Cx<'_>,
    volume: &str,
    instance: &str,
) -> Result<Option<ec2::VolumeAttachment>> {
    let Some(v) = existing(describe_volume(cx, volume).await)? else {
        return Ok(None);
    };
    Ok(v.attachments()
        .iter()
        .find(|a| {
            a.instance_id() == Some(instance)
                && !matches!(
                    a.state(),
                    Some(
                        ec2::VolumeAttachmentState::Detached
                            | ec2::VolumeAttachmentState::Detaching
                    )
                )
        })
        .cloned())
}

#[async_trait]
impl CustomResource<AwsState> for VolumeAttachment {
    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        call(cx, "AttachVolume", |c| {
            c.attach_volume()
                .volume_id(&i.volume_id)
                .instance_id(&i.instance_id)
                .device(&i.device_name)
                .send()
        })
        .await?;
        let vol = &i.volume_id;
        wait(cx, &format!("volume {vol} to be attached"), |c, t| {
            c.wait_until_volume_in_use().volume_ids(vol).wait(t)
        })
        .await?;
        let id = attachment_id(&i.volume_id, &i.instance_id);
        Ok(created(&id, VolumeAttachmentOutputs { id: id.clone() }))
    }

    /// An attachment already there (an interrupted create) is adopted.
    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let found = attachment(cx, &i.volume_id, &i.instance_id).await?;
        let id = attachment_id(&i.volume_id, &i.instance_id);
        Ok(found.map(|_| created(&id, VolumeAttachmentOutputs { id: id.clone() })))
    }

    async fn read(cx: &Cx<'_>, id: &str, _: Option<&Self::Inputs>) -> ReadResult<Self> {
        let Some((volume, instance)) = id.split_once(':') else {
            return Err(ProviderError::permanent(format!(
                "`{id}` is not a volume attachment id (`<volume id>:<instance id>`)"
            )));
        };
        let a = attachment(cx, volume, instance).await?.ok_or_else(|| {
            ProviderError::not_found(format!(
                "volume {volume} is not attached to instance {instance}"
            ))
        })?;
        let inputs = VolumeAttachmentInputs {
            volume_id: volume.to_string(),
            instance_id: instance.to_string(),
            device_name: text(a.device()),
        };
        Ok(observed(
            id,
            inputs,
            VolumeAttachmentOutputs { id: id.into() },
        ))
    }

    async fn delete(cx: &Cx<'_>, id: &str, i: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        if attachment(cx, &i.volume_id, &i.instance_id)
            .await?
            .is_none()
        {
            return Ok(());
        }
        call_unless(cx, "DetachVolume", "IncorrectState", |c| {
            c.detach_volume()
                .volume_id(&i.volume_id)
                .instance_id(&i.instance_id)
                .device(&i.device_name)
                .send()
        })
        .await?;
        let vol = &i.volume_id;
        wait(
            cx,
            &format!("volume {vol} ({id}) to be detached"),
            |c, t| c.wait_until_volume_available().volume_ids(vol).wait(t),
        )
        .await
    }
}
