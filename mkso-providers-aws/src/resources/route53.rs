//! Route 53 (`route53` feature): [`HostedZone`] and [`Record`], on
//! `aws-sdk-route53`.
//!
//! Zone names are not unique (two zones may serve one domain), so a zone is
//! found again by what its create carried: a caller reference starting with
//! the hash of this resource's URN (set in the same call as the zone
//! itself) or its `mkso:urn` tag. A record is identified by zone, name and
//! type; one that exists with this resource's values is adopted, one with
//! other values is refused, naming the import option. Every change is
//! waited for until Route 53 has it on all its servers (`INSYNC`).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_route53::Client;
use aws_sdk_route53::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ChangeStatus, HostedZoneConfig, ResourceRecord,
    ResourceRecordSet, RrType, Tag, TagResourceType, VpcRegion,
};
use mkso::ProviderError;
use mkso::typed::{Created, CustomResource, Observed, Planned};

use super::common::{Cx, ReadResult, Result, Update, found, is_mine, own_tags_of};
use super::{
    HostedZone, HostedZoneInputs, HostedZoneOutputs, Record, RecordInputs, RecordOutputs, Tags,
};
use crate::error::classify;
use crate::tags;

/// How long a change may take to reach every Route 53 server.
const WAIT: Duration = Duration::from_secs(600);
/// Between two looks at a change.
const POLL: Duration = Duration::from_secs(2);

const DEFAULT_COMMENT: &str = "Managed by mkso";

/// One Route 53 call on one resource: the client, errors classified.
struct R53<'a> {
    cx: &'a Cx<'a>,
    c: &'a Client,
}

impl<'a> R53<'a> {
    async fn of(cx: &'a Cx<'a>) -> R53<'a> {
        R53 {
            cx,
            c: cx.provider.route53().await,
        }
    }

    fn err<E>(&self, op: &'static str) -> impl FnOnce(SdkError<E>) -> ProviderError + '_
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        move |e| {
            tracing::debug!(op, urn = %self.cx.urn(), "Route 53 call failed");
            classify(
                e,
                &format!("{op} of `{}`", self.cx.name()),
                &self.cx.provider.endpoint,
            )
        }
    }

    /// Waits until a change is on every server.
    async fn in_sync(&self, change: Option<&aws_sdk_route53::types::ChangeInfo>) -> Result<()> {
        let Some(mut info) = change.cloned() else {
            return Ok(());
        };
        let deadline = tokio::time::Instant::now() + WAIT;
        while info.status() != &ChangeStatus::Insync {
            if tokio::time::Instant::now() >= deadline {
                return Err(ProviderError::retryable(format!(
                    "waiting for Route 53 change {} to be in sync: still not after {WAIT:?}",
                    info.id()
                )));
            }
            tokio::time::sleep(POLL).await;
            let out = self
                .c
                .get_change()
                .id(info.id())
                .send()
                .await
                .map_err(self.err("GetChange"))?;
            match out.change_info {
                Some(i) => info = i,
                None => return Ok(()),
            }
        }
        Ok(())
    }

    async fn zone_tags(&self, id: &str) -> Result<BTreeMap<String, String>> {
        let out = self
            .c
            .list_tags_for_resource()
            .resource_type(TagResourceType::Hostedzone)
            .resource_id(id)
            .send()
            .await
            .map_err(self.err("ListTagsForResource"))?;
        Ok(out
            .resource_tag_set()
            .map(|s| s.tags())
            .unwrap_or_default()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
            .collect())
    }

    async fn change_zone_tags(&self, id: &str, old: &Tags, new: &Tags) -> Result<()> {
        let defaults = &self.cx.provider.config.default_tags;
        let (set, unset) = tags::changes(self.cx.identity, defaults, old, new);
        let set = set
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.send_tags(id, set, unset).await
    }

    /// Sets the zone's whole tag set (after a create or an adoption).
    async fn tag_zone(&self, id: &str, own: &Tags) -> Result<()> {
        let have = self.zone_tags(id).await?;
        let want = tags::full_tags(self.cx.identity, &self.cx.provider.config.default_tags, own);
        let unset: Vec<String> = have
            .keys()
            .filter(|k| !want.contains_key(*k))
            .cloned()
            .collect();
        let set: Vec<Tag> = want
            .iter()
            .filter(|(k, v)| have.get(*k) != Some(*v))
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        self.send_tags(id, set, unset).await
    }

    /// ChangeTagsForResource in calls of at most ten tags to add and ten
    /// keys to remove (Route 53's limit).
    async fn send_tags(&self, id: &str, set: Vec<Tag>, unset: Vec<String>) -> Result<()> {
        let (mut set, mut unset) = (set.into_iter(), unset.into_iter());
        loop {
            let add: Vec<Tag> = set.by_ref().take(10).collect();
            let remove: Vec<String> = unset.by_ref().take(10).collect();
            if add.is_empty() && remove.is_empty() {
                return Ok(());
            }
            self.c
                .change_tags_for_resource()
                .resource_type(TagResourceType::Hostedzone)
                .resource_id(id)
                .set_add_tags((!add.is_empty()).then_some(add))
                .set_remove_tag_keys((!remove.is_empty()).then_some(remove))
                .send()
                .await
                .map_err(self.err("ChangeTagsForResource"))?;
        }
    }
}

/// A domain name as Route 53 compares it: lower case, no trailing dot,
/// `*` for its escaped form.
fn dns(name: &str) -> String {
    name.trim_end_matches('.')
        .replace("\\052", "*")
        .to_ascii_lowercase()
}

/// A zone id without the `/hostedzone/` Route 53 answers with.
fn bare(id: &str) -> &str {
    id.rsplit('/').next().unwrap_or(id)
}

/// The start of every caller reference of this resource's creates.
fn caller_prefix(cx: &Cx<'_>) -> String {
    format!("mkso-{}-", super::naming::short_hash(cx.urn().as_str()))
}

fn zone_outputs(z: &aws_sdk_route53::types::HostedZone, ns: &[String]) -> HostedZoneOutputs {
    let id = bare(z.id()).to_string();
    HostedZoneOutputs {
        zone_id: id.clone(),
        id,
        name: dns(z.name()),
        name_servers: ns.to_vec(),
    }
}

impl R53<'_> {
    /// The zone and its name servers.
    async fn zone(
        &self,
        id: &str,
    ) -> Result<Option<(aws_sdk_route53::types::HostedZone, Vec<String>, Vec<String>)>> {
        let r = self
            .c
            .get_hosted_zone()
            .id(id)
            .send()
            .await
            .map_err(self.err("GetHostedZone"));
        let Some(out) = found(r)? else {
            return Ok(None);
        };
        let ns = out
            .delegation_set()
            .map(|d| d.name_servers().to_vec())
            .unwrap_or_default();
        let vpcs = out
            .vpcs()
            .iter()
            .filter_map(|v| v.vpc_id().map(String::from))
            .collect();
        Ok(out.hosted_zone.map(|z| (z, ns, vpcs)))
    }

    /// Zones of this name (one page of `ListHostedZonesByName` from it).
    async fn zones_named(&self, name: &str) -> Result<Vec<aws_sdk_route53::types::HostedZone>> {
        let out = self
            .c
            .list_hosted_zones_by_name()
            .dns_name(name)
            .send()
            .await
            .map_err(self.err("ListHostedZonesByName"))?;
        Ok(out
            .hosted_zones()
            .iter()
            .filter(|z| dns(z.name()) == dns(name))
            .cloned()
            .collect())
    }
}

#[mkso::async_trait]
impl CustomResource<crate::AwsState> for HostedZone {
    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        match &i.name {
            Planned::Known(n) if !n.contains('.') || n.starts_with('.') => vec![(
                "name".to_string(),
                format!("`{n}` is not a domain name such as `example.com`"),
            )],
            _ => Vec::new(),
        }
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let r53 = R53::of(cx).await;
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut req = r53
            .c
            .create_hosted_zone()
            .name(&i.name)
            .caller_reference(format!("{}{secs}", caller_prefix(cx)))
            .hosted_zone_config(
                HostedZoneConfig::builder()
                    .comment(i.comment.as_deref().unwrap_or(DEFAULT_COMMENT))
                    .private_zone(i.vpc_id.is_some())
                    .build(),
            );
        if let Some(vpc) = &i.vpc_id {
            req = req.vpc(
                aws_sdk_route53::types::Vpc::builder()
                    .vpc_id(vpc)
                    .vpc_region(VpcRegion::from(cx.provider.config.region.as_str()))
                    .build(),
            );
        }
        let out = req.send().await.map_err(r53.err("CreateHostedZone"))?;
        let z = out.hosted_zone().cloned().ok_or_else(|| {
            ProviderError::retryable("CreateHostedZone answered without the zone")
        })?;
        let ns = out
            .delegation_set()
            .map(|d| d.name_servers().to_vec())
            .unwrap_or_default();
        r53.tag_zone(bare(z.id()), &i.tags).await?;
        r53.in_sync(out.change_info()).await?;
        let outputs = zone_outputs(&z, &ns);
        Ok(Created {
            id: outputs.id.clone(),
            outputs,
        })
    }

    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let r53 = R53::of(cx).await;
        let prefix = caller_prefix(cx);
        for z in r53.zones_named(&i.name).await? {
            // A zone of the other kind (public or private) is not this one.
            if z.config().is_some_and(|c| c.private_zone()) != i.vpc_id.is_some() {
                continue;
            }
            let id = bare(z.id()).to_string();
            let mine = z.caller_reference().starts_with(&prefix)
                || is_mine(cx, &r53.zone_tags(&id).await?);
            if !mine {
                continue;
            }
            // Its tags may not have been set yet.
            r53.tag_zone(&id, &i.tags).await?;
            let Some((z, ns, _)) = r53.zone(&id).await? else {
                continue;
            };
            let outputs = zone_outputs(&z, &ns);
            return Ok(Some(Created { id, outputs }));
        }
        Ok(None)
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let r53 = R53::of(cx).await;
        let Some((z, ns, vpcs)) = r53.zone(id).await? else {
            return Err(ProviderError::not_found(format!(
                "hosted zone {id} does not exist"
            )));
        };
        let comment = z
            .config()
            .and_then(|c| c.comment())
            .unwrap_or(DEFAULT_COMMENT)
            .to_string();
        let own = own_tags_of(cx, &r53.zone_tags(id).await?);
        let inputs = HostedZoneInputs {
            name: match recorded {
                Some(r) if dns(&r.name) == dns(z.name()) => r.name.clone(),
                _ => dns(z.name()),
            },
            comment: super::common::unless_default(
                recorded.and_then(|r| r.comment.clone()),
                comment,
                DEFAULT_COMMENT.to_string(),
            ),
            vpc_id: match recorded.and_then(|r| r.vpc_id.as_ref()) {
                Some(v) if vpcs.contains(v) => Some(v.clone()),
                _ => vpcs.first().cloned(),
            },
            force_destroy: recorded.is_some_and(|r| r.force_destroy),
            tags: own,
        };
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(inputs),
            outputs: zone_outputs(&z, &ns),
        })
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let r53 = R53::of(cx).await;
        let (o, n) = (ch.old, ch.new);
        if o.comment != n.comment {
            r53.c
                .update_hosted_zone_comment()
                .id(ch.id)
                .comment(n.comment.as_deref().unwrap_or(DEFAULT_COMMENT))
                .send()
                .await
                .map_err(r53.err("UpdateHostedZoneComment"))?;
        }
        r53.change_zone_tags(ch.id, &o.tags, &n.tags).await?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(cx: &Cx<'_>, id: &str, i: &Self::Inputs, o: &Self::Outputs) -> Result<()> {
        let r53 = R53::of(cx).await;
        if i.force_destroy {
            r53.empty_zone(id, &o.name).await?;
        }
        let r = r53.c.delete_hosted_zone().id(id).send().await;
        let out = match r {
            Err(e) if e.code() == Some("HostedZoneNotEmpty") => {
                let mut pe = r53.err("DeleteHostedZone")(e);
                pe.message = format!(
                    "{}: zone `{}` still holds records mkso does not manage; delete them, declare them as Record resources, or set `force_destroy(true)` on the zone",
                    pe.message, o.name
                );
                return Err(pe);
            }
            r => found(r.map_err(r53.err("DeleteHostedZone")))?,
        };
        match out {
            Some(out) => r53.in_sync(out.change_info()).await,
            None => Ok(()),
        }
    }
}

impl R53<'_> {
    /// Deletes every record of the zone but its own NS and SOA.
    async fn empty_zone(&self, id: &str, apex: &str) -> Result<()> {
        loop {
            let out = self
                .c
                .list_resource_record_sets()
                .hosted_zone_id(id)
                .send()
                .await
                .map_err(self.err("ListResourceRecordSets"))?;
            let doomed: Vec<Change> = out
                .resource_record_sets()
                .iter()
                .filter(|s| {
                    !(dns(s.name()) == dns(apex) && matches!(s.r#type(), RrType::Ns | RrType::Soa))
                })
                .filter_map(|s| {
                    Change::builder()
                        .action(ChangeAction::Delete)
                        .resource_record_set(s.clone())
                        .build()
                        .ok()
                })
                .collect();
            if doomed.is_empty() {
                return Ok(());
            }
            let batch = ChangeBatch::builder()
                .set_changes(Some(doomed))
                .build()
                .map_err(|e| ProviderError::permanent(e.to_string()))?;
            let out = self
                .c
                .change_resource_record_sets()
                .hosted_zone_id(id)
                .change_batch(batch)
                .send()
                .await
                .map_err(self.err("ChangeResourceRecordSets"))?;
            self.in_sync(out.change_info()).await?;
        }
    }
}

/// `<zone id>_<name>_<type>`.
fn record_id(i: &RecordInputs) -> String {
    format!("{}_{}_{}", i.zone_id, dns(&i.name), i.record_type)
}

/// The record set these inputs describe.
fn record_set(i: &RecordInputs) -> Result<ResourceRecordSet> {
    let mut b = ResourceRecordSet::builder()
        .name(&i.name)
        .r#type(RrType::from(i.record_type.as_str()));
    if let (Some(name), Some(zone)) = (&i.alias_name, &i.alias_zone_id) {
        b = b.alias_target(
            AliasTarget::builder()
                .dns_name(name)
                .hosted_zone_id(zone)
                .evaluate_target_health(i.alias_evaluate_target_health.unwrap_or(false))
                .build()
                .map_err(|e| ProviderError::permanent(e.to_string()))?,
        );
    } else {
        b = b.ttl(i.ttl.unwrap_or(300));
        for v in &i.records {
            b = b.resource_records(
                ResourceRecord::builder()
                    .value(v)
                    .build()
                    .map_err(|e| ProviderError::permanent(e.to_string()))?,
            );
        }
    }
    b.build()
        .map_err(|e| ProviderError::permanent(e.to_string()))
}

/// The inputs a record set in the cloud stands for, in the recorded form
/// where it means the same (names without their trailing dot, values in
/// the recorded order).
fn observed_record(
    zone_id: &str,
    s: &ResourceRecordSet,
    recorded: Option<&RecordInputs>,
) -> RecordInputs {
    let mut values: Vec<String> = s
        .resource_records()
        .iter()
        .map(|r| r.value().to_string())
        .collect();
    let alias = s.alias_target();
    let same_name = |a: &str, b: &str| dns(a) == dns(b);
    if let Some(r) = recorded {
        let (mut a, mut b) = (r.records.clone(), values.clone());
        a.sort();
        b.sort();
        if a == b {
            values = r.records.clone();
        }
    }
    RecordInputs {
        zone_id: zone_id.to_string(),
        name: match recorded {
            Some(r) if same_name(&r.name, s.name()) => r.name.clone(),
            _ => dns(s.name()),
        },
        record_type: s.r#type().as_str().to_string(),
        ttl: match (s.ttl(), recorded) {
            (Some(t), Some(r)) if r.ttl.is_none() && t == 300 => None,
            (t, _) => t,
        },
        records: values,
        alias_name: alias.map(|a| match recorded.and_then(|r| r.alias_name.as_ref()) {
            Some(r) if same_name(r, a.dns_name()) => r.clone(),
            _ => dns(a.dns_name()),
        }),
        alias_zone_id: alias.map(|a| a.hosted_zone_id().to_string()),
        alias_evaluate_target_health: alias.and_then(|a| {
            match recorded.map(|r| r.alias_evaluate_target_health) {
                Some(None) if !a.evaluate_target_health() => None,
                _ => Some(a.evaluate_target_health()),
            }
        }),
    }
}

impl R53<'_> {
    /// The record set of this zone, name and type.
    async fn record(
        &self,
        zone: &str,
        name: &str,
        kind: &str,
    ) -> Result<Option<ResourceRecordSet>> {
        let r = self
            .c
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .start_record_name(name)
            .start_record_type(RrType::from(kind))
            .max_items(1)
            .send()
            .await
            .map_err(self.err("ListResourceRecordSets"));
        Ok(found(r)?.and_then(|o| {
            o.resource_record_sets()
                .iter()
                .find(|s| dns(s.name()) == dns(name) && s.r#type().as_str() == kind)
                .cloned()
        }))
    }

    async fn change(&self, zone: &str, action: ChangeAction, set: ResourceRecordSet) -> Result<()> {
        let change = Change::builder()
            .action(action)
            .resource_record_set(set)
            .build()
            .map_err(|e| ProviderError::permanent(e.to_string()))?;
        let batch = ChangeBatch::builder()
            .changes(change)
            .build()
            .map_err(|e| ProviderError::permanent(e.to_string()))?;
        let out = self
            .c
            .change_resource_record_sets()
            .hosted_zone_id(zone)
            .change_batch(batch)
            .send()
            .await
            .map_err(self.err("ChangeResourceRecordSets"))?;
        self.in_sync(out.change_info()).await
    }
}

#[mkso::async_trait]
impl CustomResource<crate::AwsState> for Record {
    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        let alias = matches!(&i.alias_name, Planned::Known(Some(_)) | Planned::Unknown);
        let alias_zone = matches!(&i.alias_zone_id, Planned::Known(Some(_)) | Planned::Unknown);
        let mut out = Vec::new();
        if alias != alias_zone {
            out.push((
                "alias_zone_id".to_string(),
                "an alias takes both `alias_name` and `alias_zone_id` (a load balancer's `dns_name` and `zone_id`)".to_string(),
            ));
        }
        if let (Planned::Known(Some(_)), Planned::Known(r)) = (&i.alias_name, &i.records)
            && !r.is_empty()
        {
            out.push((
                "records".to_string(),
                "a record is an alias or has values, not both".to_string(),
            ));
        }
        if let (Planned::Known(None), Planned::Known(r)) = (&i.alias_name, &i.records)
            && r.is_empty()
        {
            out.push((
                "records".to_string(),
                "is empty: give the record values, or an alias".to_string(),
            ));
        }
        out
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let r53 = R53::of(cx).await;
        if r53
            .record(&i.zone_id, &i.name, &i.record_type)
            .await?
            .is_some()
        {
            return Err(ProviderError::permanent(format!(
                "ChangeResourceRecordSets of `{}`: the {} record `{}` exists already with other values: change the program's values to adopt it, or import it (id `{}`)",
                cx.name(),
                i.record_type,
                dns(&i.name),
                record_id(i)
            ))
            .with_code("RecordExists"));
        }
        r53.change(&i.zone_id, ChangeAction::Create, record_set(i)?)
            .await?;
        Ok(Created {
            id: record_id(i),
            outputs: RecordOutputs {
                id: record_id(i),
                fqdn: dns(&i.name),
            },
        })
    }

    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let r53 = R53::of(cx).await;
        let Some(s) = r53.record(&i.zone_id, &i.name, &i.record_type).await? else {
            return Ok(None);
        };
        // Records carry no tags: one with exactly these values is what an
        // interrupted create made.
        Ok(
            (observed_record(&i.zone_id, &s, Some(i)) == *i).then(|| Created {
                id: record_id(i),
                outputs: RecordOutputs {
                    id: record_id(i),
                    fqdn: dns(&i.name),
                },
            }),
        )
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let r53 = R53::of(cx).await;
        let mut parts = id.splitn(3, '_');
        let (Some(zone), Some(name), Some(kind)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(ProviderError::permanent(format!(
                "`{id}` is not a record id: `<zone id>_<name>_<type>`"
            )));
        };
        let Some(s) = r53.record(zone, name, kind).await? else {
            return Err(ProviderError::not_found(format!(
                "the {kind} record {name} does not exist in zone {zone}"
            )));
        };
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(observed_record(zone, &s, recorded)),
            outputs: RecordOutputs {
                id: id.to_string(),
                fqdn: dns(name),
            },
        })
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let r53 = R53::of(cx).await;
        r53.change(&ch.new.zone_id, ChangeAction::Upsert, record_set(ch.new)?)
            .await?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(cx: &Cx<'_>, _: &str, i: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        let r53 = R53::of(cx).await;
        // A delete names the record set as it is now.
        let r = r53.record(&i.zone_id, &i.name, &i.record_type).await;
        let Some(current) = found(r)?.flatten() else {
            return Ok(());
        };
        r53.change(&i.zone_id, ChangeAction::Delete, current).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_as_route53_does() {
        assert_eq!(dns("WWW.Example.com."), "www.example.com");
        assert_eq!(dns("\\052.example.com."), "*.example.com");
        assert_eq!(bare("/hostedzone/Z123"), "Z123");
        assert_eq!(bare("Z123"), "Z123");
    }

    #[test]
    fn a_record_set_reads_back_as_its_inputs() {
        let i = RecordInputs {
            zone_id: "Z1".into(),
            name: "www.example.com".into(),
            record_type: "A".into(),
            ttl: None,
            records: vec!["10.0.0.2".into(), "10.0.0.1".into()],
            alias_name: None,
            alias_zone_id: None,
            alias_evaluate_target_health: None,
        };
        let mut s = record_set(&i).unwrap();
        s.name = "www.example.com.".into();
        s.resource_records = Some(vec![
            ResourceRecord::builder().value("10.0.0.1").build().unwrap(),
            ResourceRecord::builder().value("10.0.0.2").build().unwrap(),
        ]);
        assert_eq!(observed_record("Z1", &s, Some(&i)), i);
        assert_eq!(record_id(&i), "Z1_www.example.com_A");
    }
}
