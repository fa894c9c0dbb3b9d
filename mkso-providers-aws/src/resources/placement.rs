//! Placement groups.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{self as ec2, PlacementStrategy, ResourceType, SpreadLevel};
use mkso::typed::{Created, CustomResource, PropertyChange};

use super::common::{
    Cx, ReadResult, Result, by_id, by_urn, call, created, default_name, observed, own_tags,
    poll_until, tag_spec, taken, text, unless_default, urn_filter,
};
use super::{PlacementGroup, PlacementGroupInputs, PlacementGroupOutputs};
use crate::provider::AwsState;

const STRATEGIES: &[&str] = &["cluster", "spread", "partition"];

/// How long a create or delete is waited for.
const WAIT: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_secs(2);

fn state(g: &ec2::PlacementGroup) -> &str {
    g.state().map_or("", |s| s.as_str())
}

/// Whether the group is being deleted or deleted (EC2 shows those for a
/// while).
fn gone(g: &ec2::PlacementGroup) -> bool {
    matches!(state(g), "deleting" | "deleted")
}

/// The group `id`, unless gone.
async fn describe(cx: &Cx<'_>, id: &str) -> Result<ec2::PlacementGroup> {
    let out = call(cx, "DescribePlacementGroups", |c| {
        c.describe_placement_groups().group_ids(id).send()
    })
    .await?;
    let live: Vec<_> = out.placement_groups().iter().filter(|g| !gone(g)).collect();
    by_id("placement group", id, live, |g| g.group_id())
}

/// Whether a group named `name` exists (in any state but deleted).
async fn named(cx: &Cx<'_>, name: &str) -> Result<bool> {
    let out = call(cx, "DescribePlacementGroups", |c| {
        c.describe_placement_groups()
            .filters(crate::tags::filter("group-name", name))
            .send()
    })
    .await?;
    Ok(out
        .placement_groups()
        .iter()
        .any(|g| g.group_name() == Some(name) && state(g) != "deleted"))
}

fn outputs(g: &ec2::PlacementGroup) -> PlacementGroupOutputs {
    PlacementGroupOutputs {
        id: text(g.group_id()),
        name: text(g.group_name()),
        arn: text(g.group_arn()),
    }
}

fn name_of(cx: &Cx<'_>, i: &PlacementGroupInputs) -> String {
    i.name.clone().unwrap_or_else(|| default_name(cx))
}

#[async_trait]
impl CustomResource<AwsState> for PlacementGroup {
    /// The name stays (the default one, or the same given one): the new
    /// group cannot exist next to the old.    /// (Unless the new name is known to differ.)
    fn delete_before_replace(changes: &[PropertyChange]) -> bool {
        !changes.iter().any(|c| c.property() == "name" && !c.unknown)
    }

    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        use mkso::typed::Planned;
        let mut failures = Vec::new();
        let strategy = i.strategy.known().map(String::as_str);
        if let Some(s) = strategy
            && !STRATEGIES.contains(&s)
        {
            failures.push((
                "strategy".to_string(),
                format!("`{s}` is not `cluster`, `spread` or `partition`"),
            ));
        }
        if let Planned::Known(Some(n)) = i.partition_count {
            if strategy.is_some_and(|s| s != "partition") {
                failures.push((
                    "partition_count".to_string(),
                    "is for a `partition` group only".to_string(),
                ));
            } else if !(1..=7).contains(&n) {
                failures.push((
                    "partition_count".to_string(),
                    format!("{n} is not between 1 and 7"),
                ));
            }
        }
        if let Planned::Known(Some(l)) = &i.spread_level {
            if strategy.is_some_and(|s| s != "spread") {
                failures.push((
                    "spread_level".to_string(),
                    "is for a `spread` group only".to_string(),
                ));
            } else if l != "rack" && l != "host" {
                failures.push((
                    "spread_level".to_string(),
                    format!("`{l}` is not `rack` or `host`"),
                ));
            }
        }
        failures
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let name = name_of(cx, i);
        let out = call(cx, "CreatePlacementGroup", |c| {
            c.create_placement_group()
                .group_name(&name)
                .strategy(PlacementStrategy::from(i.strategy.as_str()))
                .set_partition_count(i.partition_count)
                .set_spread_level(i.spread_level.as_deref().map(SpreadLevel::from))
                .tag_specifications(tag_spec(cx, ResourceType::PlacementGroup, &i.tags))
                .send()
        })
        .await
        .map_err(|e| match e.code.as_deref() {
            // (Not one tagged as this resource's: `find` adopts those.)
            Some(code @ "InvalidPlacementGroup.Duplicate") => taken(
                &format!("CreatePlacementGroup of `{}`", cx.identity.name()),
                "placement group name",
                &name,
                code,
            ),
            _ => e,
        })?;
        let id = match out.placement_group().and_then(|g| g.group_id()) {
            Some(id) => id.to_string(),
            // (An answer without the group: look it up by its name.)
            None => {
                let out = call(cx, "DescribePlacementGroups", |c| {
                    c.describe_placement_groups().group_names(&name).send()
                })
                .await?;
                let g = by_id("placement group", &name, out.placement_groups(), |g| {
                    g.group_name()
                })?;
                text(g.group_id())
            }
        };
        // (Until `available`, an instance cannot launch into it.)
        let what = format!("placement group {id} to be available");
        let g = poll_until(&what, WAIT, POLL, || async {
            let g = describe(cx, &id).await?;
            Ok((state(&g) == "available").then_some(g))
        })
        .await?;
        Ok(created(text(g.group_id()), outputs(&g)))
    }

    async fn find(cx: &Cx<'_>, _: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribePlacementGroups", |c| {
            c.describe_placement_groups().filters(urn_filter(cx)).send()
        })
        .await?;
        let live: Vec<_> = out.placement_groups().iter().filter(|g| !gone(g)).collect();
        let found = by_urn(cx, live, |g| g.tags());
        Ok(found.map(|g| created(text(g.group_id()), outputs(g))))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let g = describe(cx, id).await?;
        let strategy = g
            .strategy()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        let name = text(g.group_name());
        let inputs = PlacementGroupInputs {
            name: if recorded.is_none_or(|r| r.name.is_none()) && name == default_name(cx) {
                None
            } else {
                Some(name)
            },
            partition_count: (strategy == "partition")
                .then(|| {
                    unless_default(
                        recorded.and_then(|r| r.partition_count),
                        g.partition_count().unwrap_or(2),
                        2,
                    )
                })
                .flatten(),
            spread_level: (strategy == "spread")
                .then(|| {
                    unless_default(
                        recorded.and_then(|r| r.spread_level.clone()),
                        g.spread_level().map_or("rack", |l| l.as_str()).to_string(),
                        "rack".to_string(),
                    )
                })
                .flatten(),
            strategy,
            tags: own_tags(cx, g.tags()),
        };
        Ok(observed(id, inputs, outputs(&g)))
    }

    async fn delete(cx: &Cx<'_>, _: &str, _: &Self::Inputs, o: &Self::Outputs) -> Result<()> {
        call(cx, "DeletePlacementGroup", |c| {
            c.delete_placement_group().group_name(&o.name).send()
        })
        .await?;
        // Until it is deleted, its name is taken (a replacement under the
        // same name waits for this).
        let what = format!("placement group {} to be deleted", o.name);
        poll_until(&what, WAIT, POLL, || async {
            Ok((!named(cx, &o.name).await?).then_some(()))
        })
        .await
    }
}
