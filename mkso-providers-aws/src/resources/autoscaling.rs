//! Auto Scaling (`autoscaling` feature): [`AutoScalingGroup`], on
//! `aws-sdk-autoscaling`.
//!
//! A group's name is unique in the region: by default
//! `<stack>-<resource name>-<hash>`, so an interrupted create finds its
//! group again by name and adopts it when its `mkso:urn` tag is this
//! resource's; a name held by anything else is refused, naming the import
//! option. A create (and a change of size) waits until the group runs its
//! desired number of instances; a delete terminates them and waits until the
//! group is gone.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_autoscaling::Client;
use aws_sdk_autoscaling::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_autoscaling::types::{LaunchTemplateSpecification, LifecycleState, Tag};
use mkso::ProviderError;
use mkso::typed::{Created, CustomResource, Observed, Planned};

use super::common::{
    Cx, ReadResult, Result, Update, differ, poll_until, same_set, unless_default, unless_unset,
};
use super::{AutoScalingGroup, AutoScalingGroupInputs, AutoScalingGroupOutputs};
use crate::error::classify;
use crate::tags;

/// How long a group may take to launch its instances, or to go.
const WAIT: Duration = Duration::from_secs(900);
/// Between two looks at a group.
const POLL: Duration = Duration::from_secs(3);
const DEFAULT_VERSION: &str = "$Default";
const DEFAULT_GRACE: i32 = 300;

/// One Auto Scaling call on one resource: the client, errors classified.
struct Asg<'a> {
    cx: &'a Cx<'a>,
    c: &'a Client,
}

impl Asg<'_> {
    /// Waits until the group is gone (its instances terminated with it).
    async fn gone(&self, id: &str) -> Result<()> {
        let what = format!("Auto Scaling group {id} to be deleted");
        poll_until(&what, WAIT, POLL, || async {
            Ok(self.any_group(id).await?.is_none().then_some(()))
        })
        .await
    }
}

impl<'a> Asg<'a> {
    async fn of(cx: &'a Cx<'a>) -> Asg<'a> {
        Asg {
            cx,
            c: cx.provider.autoscaling().await,
        }
    }

    fn err<E>(&self, op: &'static str) -> impl FnOnce(SdkError<E>) -> ProviderError + '_
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        move |e| {
            tracing::debug!(op, urn = %self.cx.urn(), "Auto Scaling call failed");
            let busy = matches!(
                e.code(),
                Some("ScalingActivityInProgress" | "ResourceInUse")
            );
            let mut pe = classify(
                e,
                &format!("{op} of `{}`", self.cx.name()),
                &self.cx.provider.endpoint,
            );
            if busy {
                pe.class = mkso::ErrorClass::Retryable;
            }
            pe
        }
    }

    /// Tags of the group `name` (propagated to its instances).
    fn sdk_tags(&self, name: &str, t: &BTreeMap<String, String>) -> Vec<Tag> {
        t.iter()
            .map(|(k, v)| {
                Tag::builder()
                    .resource_id(name)
                    .resource_type("auto-scaling-group")
                    .key(k)
                    .value(v)
                    .propagate_at_launch(true)
                    .build()
            })
            .collect()
    }

    /// The group of this name, also while it is being deleted.
    async fn any_group(
        &self,
        name: &str,
    ) -> Result<Option<aws_sdk_autoscaling::types::AutoScalingGroup>> {
        let out = self
            .c
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(name)
            .send()
            .await
            .map_err(self.err("DescribeAutoScalingGroups"))?;
        Ok(out
            .auto_scaling_groups()
            .iter()
            .find(|g| g.auto_scaling_group_name() == Some(name))
            .cloned())
    }

    /// The group of this name, unless it is being deleted.
    async fn group(
        &self,
        name: &str,
    ) -> Result<Option<aws_sdk_autoscaling::types::AutoScalingGroup>> {
        Ok(self.any_group(name).await?.filter(|g| !deleting(g)))
    }

    /// Waits until the group runs its desired number of instances.
    async fn running(&self, name: &str) -> Result<aws_sdk_autoscaling::types::AutoScalingGroup> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let Some(g) = self.group(name).await? else {
                return Err(ProviderError::retryable(format!(
                    "Auto Scaling group {name} went away while it was launching"
                )));
            };
            let want = g.desired_capacity().unwrap_or_default();
            let have = g
                .instances()
                .iter()
                .filter(|i| i.lifecycle_state() == Some(&LifecycleState::InService))
                .count();
            if have >= usize::try_from(want).unwrap_or_default() {
                return Ok(g);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ProviderError::retryable(format!(
                    "waiting for Auto Scaling group {name} to run {want} instances: {have} after {WAIT:?} (see its activity history for why)"
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

fn deleting(g: &aws_sdk_autoscaling::types::AutoScalingGroup) -> bool {
    g.status() == Some("Delete in progress")
}

fn outputs(g: &aws_sdk_autoscaling::types::AutoScalingGroup) -> AutoScalingGroupOutputs {
    let name = g.auto_scaling_group_name().unwrap_or_default().to_string();
    AutoScalingGroupOutputs {
        id: name.clone(),
        name,
        arn: g.auto_scaling_group_arn().unwrap_or_default().to_string(),
    }
}

fn group_name(cx: &Cx<'_>, given: Option<&String>) -> String {
    if let Some(n) = given {
        return n.clone();
    }
    super::naming::default_name(
        cx.identity.stack.as_str(),
        cx.identity.name(),
        &super::naming::hashed(cx.urn().as_str(), &[]),
        255,
        |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
    )
}

fn template(i: &AutoScalingGroupInputs) -> LaunchTemplateSpecification {
    LaunchTemplateSpecification::builder()
        .launch_template_id(&i.launch_template_id)
        .version(
            i.launch_template_version
                .as_deref()
                .unwrap_or(DEFAULT_VERSION),
        )
        .build()
}

#[mkso::async_trait]
impl CustomResource<crate::AwsState> for AutoScalingGroup {
    /// A given name that stays: the old group goes first.
    fn delete_before_replace_planned(
        new: &Self::Planned,
        changes: &[mkso::typed::PropertyChange],
    ) -> bool {
        super::common::keeps_given_name(&new.name, "name", changes)
    }

    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let (Planned::Known(min), Planned::Known(max)) = (&i.min_size, &i.max_size)
            && min > max
        {
            out.push((
                "min_size".to_string(),
                format!("{min} is more than max_size {max}"),
            ));
        }
        if let (Planned::Known(min), Planned::Known(max), Planned::Known(Some(d))) =
            (&i.min_size, &i.max_size, &i.desired_capacity)
            && !(min..=max).contains(&d)
        {
            out.push((
                "desired_capacity".to_string(),
                format!("{d} is outside min_size..=max_size ({min}..={max})"),
            ));
        }
        if let Planned::Known(s) = &i.subnet_ids
            && s.is_empty()
        {
            out.push((
                "subnet_ids".to_string(),
                "is empty: give the group the subnets to launch into".to_string(),
            ));
        }
        if let Planned::Known(Some(t)) = &i.health_check_type
            && !["EC2", "ELB"].contains(&t.as_str())
        {
            out.push((
                "health_check_type".to_string(),
                format!("`{t}` is not `EC2` or `ELB`"),
            ));
        }
        out
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let asg = Asg::of(cx).await;
        let name = group_name(cx, i.name.as_ref());
        if let Some(g) = asg.any_group(&name).await? {
            if deleting(&g) {
                return Err(ProviderError::retryable(format!(
                    "CreateAutoScalingGroup of `{}`: a group named `{name}` is still being deleted",
                    cx.name()
                )));
            }
            return Err(ProviderError::permanent(format!(
                "CreateAutoScalingGroup of `{}`: the group name `{name}` is taken (by a group not tagged as this resource's): set another `name`, or adopt it with the import option",
                cx.name()
            ))
            .with_code("AlreadyExists"));
        }
        let full = tags::full_tags(cx.identity, &cx.provider.config.default_tags, &i.tags);
        asg.c
            .create_auto_scaling_group()
            .auto_scaling_group_name(&name)
            .launch_template(template(i))
            .min_size(i.min_size)
            .max_size(i.max_size)
            .set_desired_capacity(i.desired_capacity)
            .vpc_zone_identifier(i.subnet_ids.join(","))
            .set_target_group_arns(
                (!i.target_group_arns.is_empty()).then(|| i.target_group_arns.clone()),
            )
            .set_health_check_type(i.health_check_type.clone())
            .health_check_grace_period(i.health_check_grace_period.unwrap_or(DEFAULT_GRACE))
            .set_tags(Some(asg.sdk_tags(&name, &full)))
            .send()
            .await
            .map_err(asg.err("CreateAutoScalingGroup"))?;
        let g = asg.running(&name).await?;
        Ok(Created {
            id: name,
            outputs: outputs(&g),
        })
    }

    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let asg = Asg::of(cx).await;
        let name = group_name(cx, i.name.as_ref());
        let Some(g) = asg.group(&name).await? else {
            return Ok(None);
        };
        let mine = g
            .tags()
            .iter()
            .any(|t| t.key() == Some("mkso:urn") && t.value() == Some(cx.urn().as_str()));
        if !mine {
            return Ok(None);
        }
        let g = asg.running(&name).await?;
        Ok(Some(Created {
            id: name,
            outputs: outputs(&g),
        }))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let asg = Asg::of(cx).await;
        let Some(g) = asg.group(id).await? else {
            return Err(ProviderError::not_found(format!(
                "Auto Scaling group {id} does not exist"
            )));
        };
        let lt = g.launch_template();
        let cloud_tags: BTreeMap<String, String> = g
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
            .collect();
        let subnets = g
            .vpc_zone_identifier()
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let inputs = AutoScalingGroupInputs {
            name: recorded.map_or(Some(id.to_string()), |r| r.name.clone()),
            launch_template_id: lt
                .and_then(|t| t.launch_template_id())
                .unwrap_or_default()
                .to_string(),
            launch_template_version: unless_default(
                recorded.and_then(|r| r.launch_template_version.clone()),
                lt.and_then(|t| t.version())
                    .unwrap_or(DEFAULT_VERSION)
                    .to_string(),
                DEFAULT_VERSION.to_string(),
            ),
            min_size: g.min_size().unwrap_or_default(),
            max_size: g.max_size().unwrap_or_default(),
            // Unset: whatever the group runs (scaling moves it) is no drift.
            desired_capacity: g
                .desired_capacity()
                .and_then(|d| unless_unset(recorded.map(|r| &r.desired_capacity), d)),
            subnet_ids: same_set(recorded.map(|r| &r.subnet_ids), subnets),
            target_group_arns: same_set(
                recorded.map(|r| &r.target_group_arns),
                g.target_group_arns().to_vec(),
            ),
            health_check_type: unless_default(
                recorded.and_then(|r| r.health_check_type.clone()),
                g.health_check_type().unwrap_or("EC2").to_string(),
                "EC2".to_string(),
            ),
            health_check_grace_period: g.health_check_grace_period().and_then(|p| {
                unless_default(
                    recorded.and_then(|r| r.health_check_grace_period),
                    p,
                    DEFAULT_GRACE,
                )
            }),
            tags: tags::observed_own_tags(
                cx.identity,
                &cx.provider.config.default_tags,
                &cloud_tags,
            ),
        };
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(inputs),
            outputs: outputs(&g),
        })
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let asg = Asg::of(cx).await;
        let (o, n) = (ch.old, ch.new);
        let group_changed = AutoScalingGroupInputs {
            tags: o.tags.clone(),
            target_group_arns: o.target_group_arns.clone(),
            subnet_ids: o.subnet_ids.clone(),
            ..n.clone()
        } != *o
            || differ(&o.subnet_ids, &n.subnet_ids);
        if group_changed {
            asg.c
                .update_auto_scaling_group()
                .auto_scaling_group_name(ch.id)
                .launch_template(template(n))
                .min_size(n.min_size)
                .max_size(n.max_size)
                // Unset: the group's own (scaling policies may have moved it).
                .set_desired_capacity(n.desired_capacity)
                .vpc_zone_identifier(n.subnet_ids.join(","))
                .health_check_type(n.health_check_type.as_deref().unwrap_or("EC2"))
                .health_check_grace_period(n.health_check_grace_period.unwrap_or(DEFAULT_GRACE))
                .send()
                .await
                .map_err(asg.err("UpdateAutoScalingGroup"))?;
        }
        let gone: Vec<String> = o
            .target_group_arns
            .iter()
            .filter(|a| !n.target_group_arns.contains(a))
            .cloned()
            .collect();
        let added: Vec<String> = n
            .target_group_arns
            .iter()
            .filter(|a| !o.target_group_arns.contains(a))
            .cloned()
            .collect();
        if !added.is_empty() {
            asg.c
                .attach_load_balancer_target_groups()
                .auto_scaling_group_name(ch.id)
                .set_target_group_arns(Some(added))
                .send()
                .await
                .map_err(asg.err("AttachLoadBalancerTargetGroups"))?;
        }
        if !gone.is_empty() {
            asg.c
                .detach_load_balancer_target_groups()
                .auto_scaling_group_name(ch.id)
                .set_target_group_arns(Some(gone))
                .send()
                .await
                .map_err(asg.err("DetachLoadBalancerTargetGroups"))?;
        }
        let defaults = &cx.provider.config.default_tags;
        let (set, unset) = tags::changes(cx.identity, defaults, &o.tags, &n.tags);
        if !unset.is_empty() {
            let t = unset.iter().map(|k| (k.clone(), String::new())).collect();
            asg.c
                .delete_tags()
                .set_tags(Some(asg.sdk_tags(ch.id, &t)))
                .send()
                .await
                .map_err(asg.err("DeleteTags"))?;
        }
        if !set.is_empty() {
            asg.c
                .create_or_update_tags()
                .set_tags(Some(asg.sdk_tags(ch.id, &set)))
                .send()
                .await
                .map_err(asg.err("CreateOrUpdateTags"))?;
        }
        Ok(outputs(&asg.running(ch.id).await?))
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        let asg = Asg::of(cx).await;
        match asg.any_group(id).await? {
            None => return Ok(()),
            Some(g) if deleting(&g) => return asg.gone(id).await,
            Some(_) => {}
        }
        let r = asg
            .c
            .delete_auto_scaling_group()
            .auto_scaling_group_name(id)
            .force_delete(true)
            .send()
            .await;
        match r {
            Err(e) if e.code() == Some("ValidationError") && asg.any_group(id).await?.is_none() => {
            }
            r => {
                r.map_err(asg.err("DeleteAutoScalingGroup"))?;
            }
        }
        asg.gone(id).await
    }
}
