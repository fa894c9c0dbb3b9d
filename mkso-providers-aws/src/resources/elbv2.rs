//! Elastic Load Balancing v2 (`elbv2` feature): [`LoadBalancer`],
//! [`TargetGroup`], [`Listener`] and [`TargetGroupAttachment`], on
//! `aws-sdk-elasticloadbalancingv2`.
//!
//! Load balancer and target group names are unique in the region: by
//! default `<stack>-<resource name>-<hash>` (32 characters at most), so an
//! interrupted create finds its resource again by name and adopts it when
//! its `mkso:urn` tag is this resource's; a name held by anything else is
//! refused, naming the import option. A listener is found by its tag among
//! its load balancer's listeners; a registered target is its own record.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, LoadBalancerSchemeEnum, LoadBalancerStateEnum,
    LoadBalancerTypeEnum, Matcher, ProtocolEnum, Tag, TargetDescription, TargetGroupAttribute,
    TargetTypeEnum,
};
use mkso::ProviderError;
use mkso::typed::{Created, CustomResource, Observed, Planned};

use super::common::{
    Cx, ReadResult, Result, Update, differ, found, is_mine, own_tags_of, poll_until, same_set,
    taken, unless_default, unless_unset,
};
use super::{
    Listener, ListenerInputs, ListenerOutputs, LoadBalancer, LoadBalancerInputs,
    LoadBalancerOutputs, Tags, TargetGroup, TargetGroupAttachment, TargetGroupAttachmentInputs,
    TargetGroupAttachmentOutputs, TargetGroupInputs, TargetGroupOutputs,
};
use crate::error::classify;
use crate::tags;

/// How long a new load balancer may take to become active, and a deleted
/// one to go.
const WAIT: Duration = Duration::from_secs(600);
/// Between two looks at a load balancer's state.
const POLL: Duration = Duration::from_secs(2);

/// One ELBv2 call on one resource: the client, errors classified.
struct Elb<'a> {
    cx: &'a Cx<'a>,
    c: &'a Client,
}

impl<'a> Elb<'a> {
    async fn of(cx: &'a Cx<'a>) -> Elb<'a> {
        Elb {
            cx,
            c: cx.provider.elbv2().await,
        }
    }

    fn err<E>(&self, op: &'static str) -> impl FnOnce(SdkError<E>) -> ProviderError + '_
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        move |e| {
            tracing::debug!(op, urn = %self.cx.urn(), "ELBv2 call failed");
            let in_use = e.code() == Some("ResourceInUse");
            let mut pe = classify(
                e,
                &format!("{op} of `{}`", self.cx.name()),
                &self.cx.provider.endpoint,
            );
            if in_use {
                // Another resource (a listener, a rule) is letting go of it.
                pe.class = mkso::ErrorClass::Retryable;
            }
            pe
        }
    }

    fn full_tags(&self, own: &Tags) -> Vec<Tag> {
        to_sdk(&tags::full_tags(
            self.cx.identity,
            &self.cx.provider.config.default_tags,
            own,
        ))
    }

    /// The tags of one resource (by ARN).
    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        let out = self
            .c
            .describe_tags()
            .resource_arns(arn)
            .send()
            .await
            .map_err(self.err("DescribeTags"))?;
        Ok(out
            .tag_descriptions()
            .iter()
            .filter(|d| d.resource_arn() == Some(arn))
            .flat_map(|d| d.tags())
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
            .collect())
    }

    /// Sets and removes tags to go from `old` own tags to `new` ones.
    async fn sync_tags(&self, arn: &str, old: &Tags, new: &Tags) -> Result<()> {
        let defaults = &self.cx.provider.config.default_tags;
        let (set, unset) = tags::changes(self.cx.identity, defaults, old, new);
        if !unset.is_empty() {
            self.c
                .remove_tags()
                .resource_arns(arn)
                .set_tag_keys(Some(unset))
                .send()
                .await
                .map_err(self.err("RemoveTags"))?;
        }
        if !set.is_empty() {
            self.c
                .add_tags()
                .resource_arns(arn)
                .set_tags(Some(to_sdk(&set)))
                .send()
                .await
                .map_err(self.err("AddTags"))?;
        }
        Ok(())
    }
}

fn to_sdk(t: &BTreeMap<String, String>) -> Vec<Tag> {
    t.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// A name ELB accepts: 1 to 32 letters, digits and hyphens, not starting or
/// ending with a hyphen, not starting with `internal-`.
fn name_problem(kind: &str, name: &str) -> Option<String> {
    let ok = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let bad = name.is_empty()
        || name.len() > 32
        || !ok
        || name.starts_with('-')
        || name.ends_with('-')
        || name.starts_with("internal-");
    bad.then(|| {
        format!(
            "`{name}` is not a valid {kind} name: 1 to 32 letters, digits and hyphens, not starting or ending with a hyphen nor starting with `internal-`"
        )
    })
}

fn check_name(kind: &str, name: &Planned<Option<String>>) -> Vec<(String, String)> {
    match name {
        Planned::Known(Some(n)) => name_problem(kind, n)
            .map(|p| ("name".to_string(), p))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// The name of a load balancer or target group: the program's, or
/// `<stack>-<resource name>-<hash>`, the hash covering the URN and the
/// inputs whose change replaces it (`variant`): a replacement is created
/// under a name of its own next to the old copy, which a listener still
/// uses until it is moved.
fn elb_name(cx: &Cx<'_>, given: Option<&String>, variant: &[Option<String>]) -> String {
    if let Some(n) = given {
        return n.clone();
    }
    super::naming::default_name(
        cx.identity.stack.as_str(),
        cx.identity.name(),
        &super::naming::hashed(cx.urn().as_str(), variant),
        32,
        |c| c.is_ascii_alphanumeric(),
    )
}

/// A protocol input (`HTTP` when unset).
fn protocol(p: Option<&String>) -> ProtocolEnum {
    ProtocolEnum::from(p.map_or("HTTP", String::as_str))
}

/// A known enum value outside of `values` as a check failure.
fn one_of(key: &str, v: &Planned<Option<String>>, values: &[&str]) -> Vec<(String, String)> {
    match v {
        Planned::Known(Some(x)) if !values.contains(&x.as_str()) => vec![(
            key.to_string(),
            format!("`{x}` is not one of {}", values.join(", ")),
        )],
        _ => Vec::new(),
    }
}

/// The inputs besides the name whose change replaces a load balancer.
fn lb_variant(i: &LoadBalancerInputs) -> [Option<String>; 2] {
    [
        i.internal.map(|b| b.to_string()),
        i.load_balancer_type.clone(),
    ]
}

/// The inputs besides the name whose change replaces a target group.
fn tg_variant(i: &TargetGroupInputs) -> [Option<String>; 4] {
    [
        Some(i.port.to_string()),
        i.protocol.clone(),
        Some(i.vpc_id.clone()),
        i.target_type.clone(),
    ]
}

fn lb_outputs(lb: &aws_sdk_elasticloadbalancingv2::types::LoadBalancer) -> LoadBalancerOutputs {
    let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
    LoadBalancerOutputs {
        id: arn.clone(),
        arn,
        name: lb.load_balancer_name().unwrap_or_default().to_string(),
        dns_name: lb.dns_name().unwrap_or_default().to_string(),
        zone_id: lb
            .canonical_hosted_zone_id()
            .unwrap_or_default()
            .to_string(),
        vpc_id: lb.vpc_id().unwrap_or_default().to_string(),
    }
}

impl Elb<'_> {
    async fn lb_by_name(
        &self,
        name: &str,
    ) -> Result<Option<aws_sdk_elasticloadbalancingv2::types::LoadBalancer>> {
        let r = self
            .c
            .describe_load_balancers()
            .names(name)
            .send()
            .await
            .map_err(self.err("DescribeLoadBalancers"));
        Ok(found(r)?.and_then(|o| {
            o.load_balancers()
                .iter()
                .find(|l| l.load_balancer_name() == Some(name))
                .cloned()
        }))
    }

    async fn lb(
        &self,
        arn: &str,
    ) -> Result<Option<aws_sdk_elasticloadbalancingv2::types::LoadBalancer>> {
        let r = self
            .c
            .describe_load_balancers()
            .load_balancer_arns(arn)
            .send()
            .await
            .map_err(self.err("DescribeLoadBalancers"));
        Ok(found(r)?.and_then(|o| {
            o.load_balancers()
                .iter()
                .find(|l| l.load_balancer_arn() == Some(arn))
                .cloned()
        }))
    }

    /// Waits until the load balancer is active (a failed one is an error).
    async fn lb_active(
        &self,
        arn: &str,
    ) -> Result<aws_sdk_elasticloadbalancingv2::types::LoadBalancer> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let Some(lb) = self.lb(arn).await? else {
                return Err(ProviderError::retryable(format!(
                    "load balancer {arn} went away while it was being created"
                )));
            };
            match lb.state().and_then(|s| s.code()) {
                Some(LoadBalancerStateEnum::Active) | None => return Ok(lb),
                Some(LoadBalancerStateEnum::Failed) => {
                    let why = lb.state().and_then(|s| s.reason()).unwrap_or("no reason");
                    return Err(ProviderError::permanent(format!(
                        "load balancer {arn} failed to provision: {why}"
                    )));
                }
                _ if tokio::time::Instant::now() >= deadline => {
                    return Err(ProviderError::retryable(format!(
                        "waiting for load balancer {arn} to become active: still not after {WAIT:?}"
                    )));
                }
                _ => tokio::time::sleep(POLL).await,
            }
        }
    }
}

#[mkso::async_trait]
impl CustomResource<crate::AwsState> for LoadBalancer {
    /// A given name that stays: the old load balancer goes first.
    fn delete_before_replace_planned(
        new: &Self::Planned,
        changes: &[mkso::typed::PropertyChange],
    ) -> bool {
        super::common::keeps_given_name(&new.name, "name", changes)
    }

    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        let mut out = check_name("load balancer", &i.name);
        out.extend(one_of(
            "load_balancer_type",
            &i.load_balancer_type,
            &["application", "network"],
        ));
        if let Planned::Known(s) = &i.subnets
            && s.is_empty()
        {
            out.push((
                "subnets".to_string(),
                "is empty: give the load balancer a subnet in each of its zones".to_string(),
            ));
        }
        out
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let elb = Elb::of(cx).await;
        let name = elb_name(cx, i.name.as_ref(), &lb_variant(i));
        if elb.lb_by_name(&name).await?.is_some() {
            return Err(taken(
                &format!("CreateLoadBalancer of `{}`", cx.name()),
                "load balancer name",
                &name,
                "DuplicateName",
            ));
        }
        let scheme = if i.internal == Some(true) {
            LoadBalancerSchemeEnum::Internal
        } else {
            LoadBalancerSchemeEnum::InternetFacing
        };
        let kind = i.load_balancer_type.as_deref().unwrap_or("application");
        let out = elb
            .c
            .create_load_balancer()
            .name(&name)
            .set_subnets(Some(i.subnets.clone()))
            .set_security_groups((!i.security_groups.is_empty()).then(|| i.security_groups.clone()))
            .scheme(scheme)
            .r#type(LoadBalancerTypeEnum::from(kind))
            .set_tags(Some(elb.full_tags(&i.tags)))
            .send()
            .await
            .map_err(elb.err("CreateLoadBalancer"))?;
        let arn = out
            .load_balancers()
            .first()
            .and_then(|l| l.load_balancer_arn())
            .ok_or_else(|| {
                ProviderError::retryable("CreateLoadBalancer answered without the load balancer")
            })?
            .to_string();
        let lb = elb.lb_active(&arn).await?;
        Ok(Created {
            id: arn,
            outputs: lb_outputs(&lb),
        })
    }

    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let elb = Elb::of(cx).await;
        let name = elb_name(cx, i.name.as_ref(), &lb_variant(i));
        let Some(lb) = elb.lb_by_name(&name).await? else {
            return Ok(None);
        };
        let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
        if !is_mine(cx, &elb.tags(&arn).await?) {
            return Ok(None);
        }
        let lb = elb.lb_active(&arn).await?;
        Ok(Some(Created {
            id: arn,
            outputs: lb_outputs(&lb),
        }))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let elb = Elb::of(cx).await;
        let Some(lb) = elb.lb(id).await? else {
            return Err(ProviderError::not_found(format!(
                "load balancer {id} does not exist"
            )));
        };
        let subnets = lb
            .availability_zones()
            .iter()
            .filter_map(|z| z.subnet_id().map(String::from))
            .collect();
        let inputs = LoadBalancerInputs {
            name: recorded.map_or_else(
                || lb.load_balancer_name().map(String::from),
                |r| r.name.clone(),
            ),
            internal: unless_default(
                recorded.and_then(|r| r.internal),
                lb.scheme() == Some(&LoadBalancerSchemeEnum::Internal),
                false,
            ),
            load_balancer_type: unless_default(
                recorded.and_then(|r| r.load_balancer_type.clone()),
                lb.r#type()
                    .map_or("application", |t| t.as_str())
                    .to_string(),
                "application".to_string(),
            ),
            subnets: same_set(recorded.map(|r| &r.subnets), subnets),
            security_groups: same_set(
                recorded.map(|r| &r.security_groups),
                lb.security_groups().to_vec(),
            ),
            tags: own_tags_of(cx, &elb.tags(id).await?),
        };
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(inputs),
            outputs: lb_outputs(&lb),
        })
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let elb = Elb::of(cx).await;
        let (o, n) = (ch.old, ch.new);
        if differ(&o.subnets, &n.subnets) {
            elb.c
                .set_subnets()
                .load_balancer_arn(ch.id)
                .set_subnets(Some(n.subnets.clone()))
                .send()
                .await
                .map_err(elb.err("SetSubnets"))?;
        }
        if differ(&o.security_groups, &n.security_groups) {
            elb.c
                .set_security_groups()
                .load_balancer_arn(ch.id)
                .set_security_groups(Some(n.security_groups.clone()))
                .send()
                .await
                .map_err(elb.err("SetSecurityGroups"))?;
        }
        elb.sync_tags(ch.id, &o.tags, &n.tags).await?;
        match elb.lb(ch.id).await? {
            Some(lb) => Ok(lb_outputs(&lb)),
            None => Ok(ch.old_outputs.clone()),
        }
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, o: &Self::Outputs) -> Result<()> {
        let elb = Elb::of(cx).await;
        let r = elb
            .c
            .delete_load_balancer()
            .load_balancer_arn(id)
            .send()
            .await
            .map_err(elb.err("DeleteLoadBalancer"));
        if found(r)?.is_none() {
            return Ok(());
        }
        // Gone from the API first, then its network interfaces (which keep
        // its subnets and security groups from being deleted) go.
        let deadline = tokio::time::Instant::now() + WAIT;
        let what = format!("load balancer {id} to be deleted");
        poll_until(&what, WAIT, POLL, || async {
            Ok(elb.lb(id).await?.is_none().then_some(()))
        })
        .await?;
        let Some(suffix) = id.split_once(":loadbalancer/").map(|(_, s)| s) else {
            return Ok(());
        };
        let ec2 = cx.provider.client().await;
        let filter = tags::filter("description", &format!("ELB {suffix}"));
        loop {
            let out = ec2
                .describe_network_interfaces()
                .filters(filter.clone())
                .send()
                .await
                .map_err(|e| {
                    classify(
                        e,
                        &format!("DescribeNetworkInterfaces of `{}`", cx.name()),
                        &cx.provider.endpoint,
                    )
                })?;
            let left = out
                .network_interfaces()
                .iter()
                .filter(|n| n.description() == Some(format!("ELB {suffix}").as_str()))
                .count();
            if left == 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ProviderError::retryable(format!(
                    "load balancer `{}` is deleted but {left} of its network interfaces are still there after {WAIT:?}",
                    o.name
                )));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

fn tg_outputs(tg: &aws_sdk_elasticloadbalancingv2::types::TargetGroup) -> TargetGroupOutputs {
    let arn = tg.target_group_arn().unwrap_or_default().to_string();
    TargetGroupOutputs {
        id: arn.clone(),
        arn,
        name: tg.target_group_name().unwrap_or_default().to_string(),
    }
}

const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";

impl Elb<'_> {
    async fn tg_by(
        &self,
        name: Option<&str>,
        arn: Option<&str>,
    ) -> Result<Option<aws_sdk_elasticloadbalancingv2::types::TargetGroup>> {
        let r = self
            .c
            .describe_target_groups()
            .set_names(name.map(|n| vec![n.to_string()]))
            .set_target_group_arns(arn.map(|a| vec![a.to_string()]))
            .send()
            .await
            .map_err(self.err("DescribeTargetGroups"));
        Ok(found(r)?.and_then(|o| {
            o.target_groups()
                .iter()
                .find(|t| {
                    name.is_none_or(|n| t.target_group_name() == Some(n))
                        && arn.is_none_or(|a| t.target_group_arn() == Some(a))
                })
                .cloned()
        }))
    }

    async fn deregistration_delay(&self, arn: &str) -> Result<Option<i32>> {
        let out = self
            .c
            .describe_target_group_attributes()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(self.err("DescribeTargetGroupAttributes"))?;
        Ok(out
            .attributes()
            .iter()
            .find(|a| a.key() == Some(DEREGISTRATION_DELAY))
            .and_then(|a| a.value()?.parse().ok()))
    }

    async fn set_deregistration_delay(&self, arn: &str, seconds: i32) -> Result<()> {
        self.c
            .modify_target_group_attributes()
            .target_group_arn(arn)
            .attributes(
                TargetGroupAttribute::builder()
                    .key(DEREGISTRATION_DELAY)
                    .value(seconds.to_string())
                    .build(),
            )
            .send()
            .await
            .map_err(self.err("ModifyTargetGroupAttributes"))?;
        Ok(())
    }
}

#[mkso::async_trait]
impl CustomResource<crate::AwsState> for TargetGroup {
    /// A given name that stays: the old target group goes first.
    fn delete_before_replace_planned(
        new: &Self::Planned,
        changes: &[mkso::typed::PropertyChange],
    ) -> bool {
        super::common::keeps_given_name(&new.name, "name", changes)
    }

    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        let mut out = check_name("target group", &i.name);
        // (A Lambda target group takes no port, protocol or VPC.)
        out.extend(one_of(
            "target_type",
            &i.target_type,
            &["instance", "ip", "alb"],
        ));
        if let Planned::Known(p) = &i.port
            && !(1..=65535).contains(p)
        {
            out.push((
                "port".to_string(),
                format!("{p} is not a port (1 to 65535)"),
            ));
        }
        out
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let elb = Elb::of(cx).await;
        let name = elb_name(cx, i.name.as_ref(), &tg_variant(i));
        if elb.tg_by(Some(&name), None).await?.is_some() {
            return Err(taken(
                &format!("CreateTargetGroup of `{}`", cx.name()),
                "target group name",
                &name,
                "DuplicateName",
            ));
        }
        let out = elb
            .c
            .create_target_group()
            .name(&name)
            .port(i.port)
            .protocol(protocol(i.protocol.as_ref()))
            .vpc_id(&i.vpc_id)
            .target_type(TargetTypeEnum::from(
                i.target_type.as_deref().unwrap_or("instance"),
            ))
            .set_health_check_path(i.health_check_path.clone())
            .set_health_check_interval_seconds(i.health_check_interval)
            .set_matcher(
                i.health_check_matcher
                    .as_ref()
                    .map(|m| Matcher::builder().http_code(m).build()),
            )
            .set_healthy_threshold_count(i.healthy_threshold)
            .set_unhealthy_threshold_count(i.unhealthy_threshold)
            .set_tags(Some(elb.full_tags(&i.tags)))
            .send()
            .await
            .map_err(elb.err("CreateTargetGroup"))?;
        let tg = out.target_groups().first().cloned().ok_or_else(|| {
            ProviderError::retryable("CreateTargetGroup answered without the target group")
        })?;
        let outputs = tg_outputs(&tg);
        if let Some(d) = i.deregistration_delay {
            elb.set_deregistration_delay(&outputs.arn, d).await?;
        }
        Ok(Created {
            id: outputs.arn.clone(),
            outputs,
        })
    }

    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let elb = Elb::of(cx).await;
        let name = elb_name(cx, i.name.as_ref(), &tg_variant(i));
        let Some(tg) = elb.tg_by(Some(&name), None).await? else {
            return Ok(None);
        };
        let outputs = tg_outputs(&tg);
        if !is_mine(cx, &elb.tags(&outputs.arn).await?) {
            return Ok(None);
        }
        if let Some(d) = i.deregistration_delay {
            elb.set_deregistration_delay(&outputs.arn, d).await?;
        }
        Ok(Some(Created {
            id: outputs.arn.clone(),
            outputs,
        }))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let elb = Elb::of(cx).await;
        let Some(tg) = elb.tg_by(None, Some(id)).await? else {
            return Err(ProviderError::not_found(format!(
                "target group {id} does not exist"
            )));
        };
        let delay = elb.deregistration_delay(id).await?;
        let inputs = TargetGroupInputs {
            name: recorded.map_or_else(
                || tg.target_group_name().map(String::from),
                |r| r.name.clone(),
            ),
            port: tg.port().unwrap_or_default(),
            protocol: unless_default(
                recorded.and_then(|r| r.protocol.clone()),
                tg.protocol().map_or("HTTP", |p| p.as_str()).to_string(),
                "HTTP".to_string(),
            ),
            vpc_id: tg.vpc_id().unwrap_or_default().to_string(),
            target_type: unless_default(
                recorded.and_then(|r| r.target_type.clone()),
                tg.target_type()
                    .map_or("instance", |t| t.as_str())
                    .to_string(),
                "instance".to_string(),
            ),
            health_check_path: tg
                .health_check_path()
                .and_then(|p| unless_unset(recorded.map(|r| &r.health_check_path), p.into())),
            health_check_interval: tg
                .health_check_interval_seconds()
                .and_then(|v| unless_unset(recorded.map(|r| &r.health_check_interval), v)),
            health_check_matcher: tg
                .matcher()
                .and_then(|m| m.http_code())
                .and_then(|m| unless_unset(recorded.map(|r| &r.health_check_matcher), m.into())),
            healthy_threshold: tg
                .healthy_threshold_count()
                .and_then(|v| unless_unset(recorded.map(|r| &r.healthy_threshold), v)),
            unhealthy_threshold: tg
                .unhealthy_threshold_count()
                .and_then(|v| unless_unset(recorded.map(|r| &r.unhealthy_threshold), v)),
            deregistration_delay: delay.and_then(|d| {
                unless_default(recorded.and_then(|r| r.deregistration_delay), d, 300)
            }),
            tags: own_tags_of(cx, &elb.tags(id).await?),
        };
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(inputs),
            outputs: tg_outputs(&tg),
        })
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let elb = Elb::of(cx).await;
        let (o, n) = (ch.old, ch.new);
        let health = (
            &n.health_check_path,
            n.health_check_interval,
            &n.health_check_matcher,
            n.healthy_threshold,
            n.unhealthy_threshold,
        );
        let was = (
            &o.health_check_path,
            o.health_check_interval,
            &o.health_check_matcher,
            o.healthy_threshold,
            o.unhealthy_threshold,
        );
        if health != was {
            elb.c
                .modify_target_group()
                .target_group_arn(ch.id)
                .set_health_check_path(n.health_check_path.clone())
                .set_health_check_interval_seconds(n.health_check_interval)
                .set_matcher(
                    n.health_check_matcher
                        .as_ref()
                        .map(|m| Matcher::builder().http_code(m).build()),
                )
                .set_healthy_threshold_count(n.healthy_threshold)
                .set_unhealthy_threshold_count(n.unhealthy_threshold)
                .send()
                .await
                .map_err(elb.err("ModifyTargetGroup"))?;
        }
        if o.deregistration_delay != n.deregistration_delay {
            elb.set_deregistration_delay(ch.id, n.deregistration_delay.unwrap_or(300))
                .await?;
        }
        elb.sync_tags(ch.id, &o.tags, &n.tags).await?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        let elb = Elb::of(cx).await;
        let r = elb
            .c
            .delete_target_group()
            .target_group_arn(id)
            .send()
            .await
            .map_err(elb.err("DeleteTargetGroup"));
        found(r).map(drop)
    }
}

fn listener_outputs(arn: &str) -> ListenerOutputs {
    ListenerOutputs {
        id: arn.to_string(),
        arn: arn.to_string(),
    }
}

/// The forward action of a listener.
fn forward(target_group_arn: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(target_group_arn)
        .build()
}

/// The target group a listener's default action forwards to.
fn forwards_to(l: &aws_sdk_elasticloadbalancingv2::types::Listener) -> String {
    l.default_actions()
        .iter()
        .find_map(|a| {
            a.target_group_arn().map(String::from).or_else(|| {
                a.forward_config()?
                    .target_groups()
                    .first()?
                    .target_group_arn()
                    .map(String::from)
            })
        })
        .unwrap_or_default()
}

impl Elb<'_> {
    async fn listeners(
        &self,
        lb: Option<&str>,
        arn: Option<&str>,
    ) -> Result<Vec<aws_sdk_elasticloadbalancingv2::types::Listener>> {
        let r = self
            .c
            .describe_listeners()
            .set_load_balancer_arn(lb.map(String::from))
            .set_listener_arns(arn.map(|a| vec![a.to_string()]))
            .send()
            .await
            .map_err(self.err("DescribeListeners"));
        Ok(found(r)?
            .map(|o| o.listeners().to_vec())
            .unwrap_or_default())
    }
}

#[mkso::async_trait]
impl CustomResource<crate::AwsState> for Listener {
    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        match &i.port {
            Planned::Known(p) if !(1..=65535).contains(p) => {
                vec![(
                    "port".to_string(),
                    format!("{p} is not a port (1 to 65535)"),
                )]
            }
            _ => Vec::new(),
        }
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let elb = Elb::of(cx).await;
        let existing = elb.listeners(Some(&i.load_balancer_arn), None).await?;
        if existing.iter().any(|l| l.port() == Some(i.port)) {
            return Err(taken(
                &format!("CreateListener of `{}`", cx.name()),
                "listener port",
                &i.port.to_string(),
                "DuplicateListener",
            ));
        }
        let out = elb
            .c
            .create_listener()
            .load_balancer_arn(&i.load_balancer_arn)
            .port(i.port)
            .protocol(protocol(i.protocol.as_ref()))
            .default_actions(forward(&i.target_group_arn))
            .set_certificates(
                i.certificate_arn
                    .as_ref()
                    .map(|c| vec![Certificate::builder().certificate_arn(c).build()]),
            )
            .set_ssl_policy(i.ssl_policy.clone())
            .set_tags(Some(elb.full_tags(&i.tags)))
            .send()
            .await
            .map_err(elb.err("CreateListener"))?;
        let arn = out
            .listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .ok_or_else(|| {
                ProviderError::retryable("CreateListener answered without the listener")
            })?;
        Ok(Created {
            id: arn.to_string(),
            outputs: listener_outputs(arn),
        })
    }

    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let elb = Elb::of(cx).await;
        for l in elb.listeners(Some(&i.load_balancer_arn), None).await? {
            let Some(arn) = l.listener_arn() else {
                continue;
            };
            if is_mine(cx, &elb.tags(arn).await?) {
                return Ok(Some(Created {
                    id: arn.to_string(),
                    outputs: listener_outputs(arn),
                }));
            }
        }
        Ok(None)
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let elb = Elb::of(cx).await;
        let Some(l) = elb
            .listeners(None, Some(id))
            .await?
            .into_iter()
            .find(|l| l.listener_arn() == Some(id))
        else {
            return Err(ProviderError::not_found(format!(
                "listener {id} does not exist"
            )));
        };
        let inputs = ListenerInputs {
            load_balancer_arn: l.load_balancer_arn().unwrap_or_default().to_string(),
            port: l.port().unwrap_or_default(),
            protocol: unless_default(
                recorded.and_then(|r| r.protocol.clone()),
                l.protocol().map_or("HTTP", |p| p.as_str()).to_string(),
                "HTTP".to_string(),
            ),
            target_group_arn: forwards_to(&l),
            certificate_arn: l
                .certificates()
                .first()
                .and_then(|c| c.certificate_arn())
                .map(String::from),
            ssl_policy: l
                .ssl_policy()
                .and_then(|p| unless_unset(recorded.map(|r| &r.ssl_policy), p.to_string())),
            tags: own_tags_of(cx, &elb.tags(id).await?),
        };
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(inputs),
            outputs: listener_outputs(id),
        })
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let elb = Elb::of(cx).await;
        let (o, n) = (ch.old, ch.new);
        let changed = (&o.port, &o.protocol, &o.target_group_arn)
            != (&n.port, &n.protocol, &n.target_group_arn)
            || (&o.certificate_arn, &o.ssl_policy) != (&n.certificate_arn, &n.ssl_policy);
        if changed {
            elb.c
                .modify_listener()
                .listener_arn(ch.id)
                .port(n.port)
                .protocol(protocol(n.protocol.as_ref()))
                .default_actions(forward(&n.target_group_arn))
                .set_certificates(
                    n.certificate_arn
                        .as_ref()
                        .map(|c| vec![Certificate::builder().certificate_arn(c).build()]),
                )
                .set_ssl_policy(n.ssl_policy.clone())
                .send()
                .await
                .map_err(elb.err("ModifyListener"))?;
        }
        elb.sync_tags(ch.id, &o.tags, &n.tags).await?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        let elb = Elb::of(cx).await;
        let r = elb
            .c
            .delete_listener()
            .listener_arn(id)
            .send()
            .await
            .map_err(elb.err("DeleteListener"));
        found(r).map(drop)
    }
}

/// `<target group arn>/<target id>[/<port>]`.
fn attachment_id(i: &TargetGroupAttachmentInputs) -> String {
    match i.port {
        Some(p) => format!("{}/{}/{p}", i.target_group_arn, i.target_id),
        None => format!("{}/{}", i.target_group_arn, i.target_id),
    }
}

/// The inputs an attachment id stands for (a target group ARN has two
/// slashes: `...:targetgroup/<name>/<hex>`).
fn parse_attachment_id(id: &str) -> Option<TargetGroupAttachmentInputs> {
    let mut parts = id.splitn(4, '/');
    let (a, name, hex, rest) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let (target, port) = match rest.rsplit_once('/') {
        Some((t, p)) => (t, Some(p.parse().ok()?)),
        None => (rest, None),
    };
    (!target.is_empty()).then(|| TargetGroupAttachmentInputs {
        target_group_arn: format!("{a}/{name}/{hex}"),
        target_id: target.to_string(),
        port,
    })
}

fn target(i: &TargetGroupAttachmentInputs) -> TargetDescription {
    TargetDescription::builder()
        .id(&i.target_id)
        .set_port(i.port)
        .build()
}

impl Elb<'_> {
    /// Whether the target is registered (`None`: the target group is gone).
    async fn registered(&self, i: &TargetGroupAttachmentInputs) -> Result<Option<bool>> {
        let r = self
            .c
            .describe_target_health()
            .target_group_arn(&i.target_group_arn)
            .send()
            .await
            .map_err(self.err("DescribeTargetHealth"));
        let Some(out) = found(r)? else {
            return Ok(None);
        };
        Ok(Some(out.target_health_descriptions().iter().any(|d| {
            // Not registered, or on its way out (draining).
            let unused = d.target_health().and_then(|h| h.reason()).is_some_and(|r| {
                matches!(
                    r.as_str(),
                    "Target.NotRegistered" | "Target.DeregistrationInProgress"
                )
            });
            d.target().is_some_and(|t| {
                t.id() == Some(i.target_id.as_str()) && i.port.is_none_or(|p| t.port() == Some(p))
            }) && !unused
        })))
    }
}

#[mkso::async_trait]
impl CustomResource<crate::AwsState> for TargetGroupAttachment {
    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let elb = Elb::of(cx).await;
        elb.c
            .register_targets()
            .target_group_arn(&i.target_group_arn)
            .targets(target(i))
            .send()
            .await
            .map_err(elb.err("RegisterTargets"))?;
        let id = attachment_id(i);
        Ok(Created {
            id: id.clone(),
            outputs: TargetGroupAttachmentOutputs { id },
        })
    }

    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let elb = Elb::of(cx).await;
        let id = attachment_id(i);
        // A target registered with the group is this attachment (targets
        // carry no tags): adopted.
        Ok((elb.registered(i).await? == Some(true)).then(|| Created {
            id: id.clone(),
            outputs: TargetGroupAttachmentOutputs { id },
        }))
    }

    async fn read(cx: &Cx<'_>, id: &str, _: Option<&Self::Inputs>) -> ReadResult<Self> {
        let elb = Elb::of(cx).await;
        let Some(i) = parse_attachment_id(id) else {
            return Err(ProviderError::permanent(format!(
                "`{id}` is not a target group attachment id: `<target group arn>/<target id>[/<port>]`"
            )));
        };
        if elb.registered(&i).await? != Some(true) {
            return Err(ProviderError::not_found(format!(
                "target {} is not registered with {}",
                i.target_id, i.target_group_arn
            )));
        }
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(i),
            outputs: TargetGroupAttachmentOutputs { id: id.to_string() },
        })
    }

    async fn delete(cx: &Cx<'_>, _: &str, i: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        let elb = Elb::of(cx).await;
        let r = elb
            .c
            .deregister_targets()
            .target_group_arn(&i.target_group_arn)
            .targets(target(i))
            .send()
            .await;
        match r {
            // Not registered (any more): done.
            Err(e) if e.code() == Some("InvalidTarget") => Ok(()),
            r => found(r.map_err(elb.err("DeregisterTargets"))).map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_ids_round_trip() {
        let tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123abcd";
        for (target, port) in [("i-0abc", None), ("10.0.1.5", Some(8080))] {
            let i = TargetGroupAttachmentInputs {
                target_group_arn: tg.to_string(),
                target_id: target.to_string(),
                port,
            };
            assert_eq!(parse_attachment_id(&attachment_id(&i)), Some(i));
        }
        assert_eq!(parse_attachment_id("i-0abc"), None);
        assert_eq!(parse_attachment_id(&format!("{tg}/i-1/http")), None);
    }

    #[test]
    fn names_are_checked() {
        assert!(name_problem("load balancer", "web-1").is_none());
        for bad in ["", "-web", "web-", "internal-web", "web_1", &"a".repeat(33)] {
            assert!(name_problem("load balancer", bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn unordered_lists_keep_the_recorded_order() {
        let rec = vec!["b".to_string(), "a".to_string()];
        assert_eq!(
            same_set(Some(&rec), vec!["a".into(), "b".into()]),
            rec.clone()
        );
        assert_eq!(
            same_set(Some(&rec), vec!["c".into(), "a".into()]),
            vec!["a".to_string(), "c".to_string()]
        );
        assert!(!differ(&rec, &["a".into(), "b".into()]));
    }
}
