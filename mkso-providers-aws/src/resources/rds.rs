//! RDS (`rds` feature): [`DbSubnetGroup`] and [`DbInstance`], on
//! `aws-sdk-rds`.
//!
//! Subnet group names and instance identifiers are unique in the region
//! and lower case: by default `<stack>-<resource name>-<hash>`, so an
//! interrupted create finds its group or instance again and adopts it when
//! its `mkso:urn` tag is this resource's; a name held by anything else is
//! refused, naming the import option. An instance's changes are applied at
//! once (`ApplyImmediately`) and waited for; its master password is a
//! secret property.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_rds::Client;
use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rds::types::Tag;
use mkso::ProviderError;
use mkso::typed::{Created, CustomResource, Observed, Planned};

use super::common::{
    Cx, ReadResult, Result, Update, differ, found, is_mine, own_tags_of, poll_until, same_set,
    taken, unless_default, unless_unset,
};
use super::{
    DbInstance, DbInstanceInputs, DbInstanceOutputs, DbSubnetGroup, DbSubnetGroupInputs,
    DbSubnetGroupOutputs, Tags,
};
use crate::error::classify;
use crate::tags;

/// How long an instance may take to become available, or to go.
const WAIT: Duration = Duration::from_secs(3600);
/// Between two looks at an instance's status.
const POLL: Duration = Duration::from_secs(5);

/// One RDS call on one resource: the client, errors classified.
struct Rds<'a> {
    cx: &'a Cx<'a>,
    c: &'a Client,
}

impl<'a> Rds<'a> {
    async fn of(cx: &'a Cx<'a>) -> Rds<'a> {
        Rds {
            cx,
            c: cx.provider.rds().await,
        }
    }

    fn err<E>(&self, op: &'static str) -> impl FnOnce(SdkError<E>) -> ProviderError + '_
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        move |e| {
            tracing::debug!(op, urn = %self.cx.urn(), "RDS call failed");
            let busy = e.code() == Some("InvalidDBInstanceState");
            let mut pe = classify(
                e,
                &format!("{op} of `{}`", self.cx.name()),
                &self.cx.provider.endpoint,
            );
            if busy {
                // Another change is being applied: try again once it is.
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

    async fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        let out = self
            .c
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .map_err(self.err("ListTagsForResource"))?;
        Ok(from_sdk(out.tag_list()))
    }

    async fn sync_tags(&self, arn: &str, old: &Tags, new: &Tags) -> Result<()> {
        let defaults = &self.cx.provider.config.default_tags;
        let (set, unset) = tags::changes(self.cx.identity, defaults, old, new);
        if !unset.is_empty() {
            self.c
                .remove_tags_from_resource()
                .resource_name(arn)
                .set_tag_keys(Some(unset))
                .send()
                .await
                .map_err(self.err("RemoveTagsFromResource"))?;
        }
        if !set.is_empty() {
            self.c
                .add_tags_to_resource()
                .resource_name(arn)
                .set_tags(Some(to_sdk(&set)))
                .send()
                .await
                .map_err(self.err("AddTagsToResource"))?;
        }
        Ok(())
    }
}

fn to_sdk(t: &BTreeMap<String, String>) -> Vec<Tag> {
    t.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn from_sdk(t: &[Tag]) -> BTreeMap<String, String> {
    t.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// An identifier RDS accepts: lower case letters, digits and hyphens,
/// starting with a letter, no two hyphens in a row nor one at the end.
fn name_problem(kind: &str, name: &str, max: usize) -> Option<String> {
    let ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let bad = name.is_empty()
        || name.len() > max
        || !ok
        || !name.starts_with(|c: char| c.is_ascii_lowercase())
        || name.ends_with('-')
        || name.contains("--");
    bad.then(|| {
        format!(
            "`{name}` is not a valid {kind}: 1 to {max} lower case letters, digits and hyphens, starting with a letter, without `--` or a hyphen at the end"
        )
    })
}

fn check_name(
    key: &str,
    kind: &str,
    v: &Planned<Option<String>>,
    max: usize,
) -> Vec<(String, String)> {
    match v {
        Planned::Known(Some(n)) => name_problem(kind, n, max)
            .map(|p| (key.to_string(), p))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// The program's name, or `<stack>-<resource name>-<hash>` in lower case,
/// the hash covering the inputs whose change replaces it (`variant`).
fn rds_name(cx: &Cx<'_>, given: Option<&String>, max: usize, variant: &[Option<String>]) -> String {
    if let Some(n) = given {
        return n.clone();
    }
    let mut name = super::naming::default_name(
        &cx.identity.stack.as_str().to_ascii_lowercase(),
        &cx.identity.name().to_ascii_lowercase(),
        &super::naming::hashed(cx.urn().as_str(), variant),
        max,
        |c| c.is_ascii_lowercase() || c.is_ascii_digit(),
    );
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert(0, 'x');
        name.truncate(max);
    }
    name
}

fn group_outputs(g: &aws_sdk_rds::types::DbSubnetGroup) -> DbSubnetGroupOutputs {
    let name = g.db_subnet_group_name().unwrap_or_default().to_string();
    DbSubnetGroupOutputs {
        id: name.clone(),
        arn: g.db_subnet_group_arn().unwrap_or_default().to_string(),
        name,
        vpc_id: g.vpc_id().unwrap_or_default().to_string(),
    }
}

const DEFAULT_DESCRIPTION: &str = "Managed by mkso";

impl Rds<'_> {
    async fn group(&self, name: &str) -> Result<Option<aws_sdk_rds::types::DbSubnetGroup>> {
        let r = self
            .c
            .describe_db_subnet_groups()
            .db_subnet_group_name(name)
            .send()
            .await
            .map_err(self.err("DescribeDBSubnetGroups"));
        Ok(found(r)?.and_then(|o| {
            o.db_subnet_groups()
                .iter()
                .find(|g| g.db_subnet_group_name() == Some(name))
                .cloned()
        }))
    }
}

#[mkso::async_trait]
impl CustomResource<crate::AwsState> for DbSubnetGroup {
    /// A given name that stays: the old subnet group goes first.
    fn delete_before_replace_planned(
        new: &Self::Planned,
        changes: &[mkso::typed::PropertyChange],
    ) -> bool {
        super::common::keeps_given_name(&new.name, "name", changes)
    }

    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        let mut out = check_name("name", "DB subnet group name", &i.name, 255);
        if let Planned::Known(s) = &i.subnet_ids
            && s.is_empty()
        {
            out.push((
                "subnet_ids".to_string(),
                "is empty: give the group subnets in two availability zones at least".to_string(),
            ));
        }
        out
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let rds = Rds::of(cx).await;
        let name = rds_name(cx, i.name.as_ref(), 255, &[]);
        if rds.group(&name).await?.is_some() {
            return Err(taken(
                &format!("CreateDBSubnetGroup of `{}`", cx.name()),
                "DB subnet group name",
                &name,
                "AlreadyExists",
            ));
        }
        let out = rds
            .c
            .create_db_subnet_group()
            .db_subnet_group_name(&name)
            .db_subnet_group_description(i.description.as_deref().unwrap_or(DEFAULT_DESCRIPTION))
            .set_subnet_ids(Some(i.subnet_ids.clone()))
            .set_tags(Some(rds.full_tags(&i.tags)))
            .send()
            .await
            .map_err(rds.err("CreateDBSubnetGroup"))?;
        let g = out.db_subnet_group.ok_or_else(|| {
            ProviderError::retryable("CreateDBSubnetGroup answered without the group")
        })?;
        Ok(Created {
            id: name,
            outputs: group_outputs(&g),
        })
    }

    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let rds = Rds::of(cx).await;
        let name = rds_name(cx, i.name.as_ref(), 255, &[]);
        let Some(g) = rds.group(&name).await? else {
            return Ok(None);
        };
        let outputs = group_outputs(&g);
        Ok(is_mine(cx, &rds.tags(&outputs.arn).await?).then_some(Created { id: name, outputs }))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let rds = Rds::of(cx).await;
        let Some(g) = rds.group(id).await? else {
            return Err(ProviderError::not_found(format!(
                "DB subnet group {id} does not exist"
            )));
        };
        let outputs = group_outputs(&g);
        let subnets = g
            .subnets()
            .iter()
            .filter_map(|s| s.subnet_identifier().map(String::from))
            .collect();
        let inputs = DbSubnetGroupInputs {
            name: recorded.map_or(Some(id.to_string()), |r| r.name.clone()),
            description: unless_default(
                recorded.and_then(|r| r.description.clone()),
                g.db_subnet_group_description()
                    .unwrap_or_default()
                    .to_string(),
                DEFAULT_DESCRIPTION.to_string(),
            ),
            subnet_ids: same_set(recorded.map(|r| &r.subnet_ids), subnets),
            tags: own_tags_of(cx, &rds.tags(&outputs.arn).await?),
        };
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(inputs),
            outputs,
        })
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let rds = Rds::of(cx).await;
        let (o, n) = (ch.old, ch.new);
        if o.description != n.description || differ(&o.subnet_ids, &n.subnet_ids) {
            rds.c
                .modify_db_subnet_group()
                .db_subnet_group_name(ch.id)
                .db_subnet_group_description(
                    n.description.as_deref().unwrap_or(DEFAULT_DESCRIPTION),
                )
                .set_subnet_ids(Some(n.subnet_ids.clone()))
                .send()
                .await
                .map_err(rds.err("ModifyDBSubnetGroup"))?;
        }
        rds.sync_tags(&ch.old_outputs.arn, &o.tags, &n.tags).await?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        let rds = Rds::of(cx).await;
        let r = rds
            .c
            .delete_db_subnet_group()
            .db_subnet_group_name(id)
            .send()
            .await;
        match r {
            // Still used by an instance that is going away: try again.
            Err(e) if e.code() == Some("InvalidDBSubnetGroupStateFault") => {
                let mut pe = rds.err("DeleteDBSubnetGroup")(e);
                pe.class = mkso::ErrorClass::Retryable;
                Err(pe)
            }
            r => found(r.map_err(rds.err("DeleteDBSubnetGroup"))).map(drop),
        }
    }
}

fn db_outputs(db: &aws_sdk_rds::types::DbInstance) -> DbInstanceOutputs {
    let ep = db.endpoint();
    let address = ep.and_then(|e| e.address()).unwrap_or_default().to_string();
    let port = ep
        .and_then(|e| e.port())
        .or(db.db_instance_port().filter(|p| *p != 0))
        .unwrap_or_default();
    DbInstanceOutputs {
        id: db.db_instance_identifier().unwrap_or_default().to_string(),
        arn: db.db_instance_arn().unwrap_or_default().to_string(),
        endpoint: format!("{address}:{port}"),
        address,
        port,
        resource_id: db.dbi_resource_id().unwrap_or_default().to_string(),
    }
}

/// The inputs besides the identifier whose change replaces an instance.
fn db_variant(i: &DbInstanceInputs) -> [Option<String>; 5] {
    [
        Some(i.engine.clone()),
        i.db_name.clone(),
        Some(i.username.clone()),
        i.db_subnet_group_name.clone(),
        i.storage_encrypted.map(|b| b.to_string()),
    ]
}

impl Rds<'_> {
    async fn db(&self, id: &str) -> Result<Option<aws_sdk_rds::types::DbInstance>> {
        let r = self
            .c
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(self.err("DescribeDBInstances"));
        Ok(found(r)?.and_then(|o| {
            o.db_instances()
                .iter()
                .find(|d| d.db_instance_identifier() == Some(id))
                .cloned()
        }))
    }

    /// Waits until the instance is `available` with no change pending (a
    /// failed one is an error). `storage-optimization`, which follows a
    /// storage change for hours while the instance serves, counts as
    /// available.
    async fn available(&self, id: &str) -> Result<aws_sdk_rds::types::DbInstance> {
        let deadline = tokio::time::Instant::now() + WAIT;
        let nothing_pending = aws_sdk_rds::types::PendingModifiedValues::builder().build();
        loop {
            let Some(db) = self.db(id).await? else {
                return Err(ProviderError::retryable(format!(
                    "DB instance {id} went away while it was being created or changed"
                )));
            };
            let pending = db
                .pending_modified_values()
                .is_some_and(|p| *p != nothing_pending);
            match db.db_instance_status().unwrap_or("available") {
                "available" | "storage-optimization" if !pending => return Ok(db),
                s @ ("failed"
                | "incompatible-parameters"
                | "incompatible-restore"
                | "storage-full"
                | "inaccessible-encryption-credentials") => {
                    return Err(ProviderError::permanent(format!(
                        "DB instance {id} is `{s}`: see its events in the RDS console"
                    )));
                }
                s if tokio::time::Instant::now() >= deadline => {
                    return Err(ProviderError::retryable(format!(
                        "waiting for DB instance {id} to become available: still `{s}` after {WAIT:?}"
                    )));
                }
                _ => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// Waits until the instance is gone.
    async fn gone(&self, id: &str) -> Result<()> {
        let what = format!("DB instance {id} to be deleted");
        poll_until(&what, WAIT, POLL, || async {
            Ok(self.db(id).await?.is_none().then_some(()))
        })
        .await
    }
}

/// The recorded version when the cloud's is it, a release of it (`16`
/// recorded, `16.3` running) or a later minor release of its major version
/// (`16.3` recorded, `16.4` running: RDS upgrades minor versions itself):
/// no drift. Else the cloud's.
fn engine_version(recorded: Option<&Option<String>>, cloud: Option<&str>) -> Option<String> {
    let cloud = cloud?;
    let major = |v: &str| v.split('.').next().unwrap_or(v).to_string();
    let later_minor = |r: &str| {
        let minor = |v: &str| v.split('.').nth(1).and_then(|m| m.parse::<u32>().ok());
        major(r) == major(cloud) && minor(cloud) >= minor(r)
    };
    match recorded {
        Some(None) => None,
        Some(Some(r)) if cloud == r || cloud.starts_with(&format!("{r}.")) || later_minor(r) => {
            Some(r.clone())
        }
        _ => Some(cloud.to_string()),
    }
}

#[mkso::async_trait]
impl CustomResource<crate::AwsState> for DbInstance {
    /// A given name that stays: the old instance goes first.
    fn delete_before_replace_planned(
        new: &Self::Planned,
        changes: &[mkso::typed::PropertyChange],
    ) -> bool {
        super::common::keeps_given_name(&new.identifier, "identifier", changes)
    }

    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        let mut out = check_name("identifier", "DB instance identifier", &i.identifier, 63);
        if let Planned::Known(None) = &i.password {
            out.push((
                "password".to_string(),
                "is not set: give the master user a password (e.g. a `mkso::secrets::Secret` config value set with `config set --secret`)".to_string(),
            ));
        }
        if let Planned::Known(s) = &i.allocated_storage
            && *s < 5
        {
            out.push((
                "allocated_storage".to_string(),
                format!("{s} GiB is too small: RDS takes 5 GiB at least (20 for gp2/gp3)"),
            ));
        }
        out
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let rds = Rds::of(cx).await;
        let id = rds_name(cx, i.identifier.as_ref(), 63, &db_variant(i));
        if rds.db(&id).await?.is_some() {
            return Err(taken(
                &format!("CreateDBInstance of `{}`", cx.name()),
                "DB instance identifier",
                &id,
                "AlreadyExists",
            ));
        }
        rds.c
            .create_db_instance()
            .db_instance_identifier(&id)
            .engine(&i.engine)
            .set_engine_version(i.engine_version.clone())
            .db_instance_class(&i.instance_class)
            .allocated_storage(i.allocated_storage)
            .set_storage_type(i.storage_type.clone())
            .set_db_name(i.db_name.clone())
            .master_username(&i.username)
            .set_master_user_password(i.password.clone())
            .set_port(i.port)
            .set_db_subnet_group_name(i.db_subnet_group_name.clone())
            .set_vpc_security_group_ids(
                (!i.vpc_security_group_ids.is_empty()).then(|| i.vpc_security_group_ids.clone()),
            )
            .publicly_accessible(i.publicly_accessible.unwrap_or(false))
            .set_multi_az(i.multi_az)
            .set_backup_retention_period(i.backup_retention_period)
            .set_storage_encrypted(i.storage_encrypted)
            .set_deletion_protection(i.deletion_protection)
            .set_tags(Some(rds.full_tags(&i.tags)))
            .send()
            .await
            .map_err(rds.err("CreateDBInstance"))?;
        let db = rds.available(&id).await?;
        Ok(Created {
            id,
            outputs: db_outputs(&db),
        })
    }

    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let rds = Rds::of(cx).await;
        let id = rds_name(cx, i.identifier.as_ref(), 63, &db_variant(i));
        let Some(db) = rds.db(&id).await? else {
            return Ok(None);
        };
        if !is_mine(cx, &from_sdk(db.tag_list())) {
            return Ok(None);
        }
        let db = rds.available(&id).await?;
        Ok(Some(Created {
            id,
            outputs: db_outputs(&db),
        }))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let rds = Rds::of(cx).await;
        let Some(db) = rds.db(id).await? else {
            return Err(ProviderError::not_found(format!(
                "DB instance {id} does not exist"
            )));
        };
        let outputs = db_outputs(&db);
        let groups: Vec<String> = db
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id().map(String::from))
            .collect();
        let inputs = DbInstanceInputs {
            identifier: recorded.map_or(Some(id.to_string()), |r| r.identifier.clone()),
            engine: db.engine().unwrap_or_default().to_string(),
            engine_version: engine_version(
                recorded.map(|r| &r.engine_version),
                db.engine_version(),
            ),
            instance_class: db.db_instance_class().unwrap_or_default().to_string(),
            allocated_storage: db.allocated_storage().unwrap_or_default(),
            storage_type: db
                .storage_type()
                .and_then(|t| unless_unset(recorded.map(|r| &r.storage_type), t.to_string())),
            db_name: db
                .db_name()
                .map(String::from)
                .or_else(|| recorded.and_then(|r| r.db_name.clone())),
            username: db.master_username().unwrap_or_default().to_string(),
            // RDS never answers with it.
            password: recorded.and_then(|r| r.password.clone()),
            port: unless_unset(recorded.map(|r| &r.port), outputs.port),
            db_subnet_group_name: db
                .db_subnet_group()
                .and_then(|g| g.db_subnet_group_name())
                .and_then(|g| {
                    unless_unset(recorded.map(|r| &r.db_subnet_group_name), g.to_string())
                }),
            vpc_security_group_ids: match recorded {
                // RDS gives an instance without groups the VPC's default.
                Some(r) if r.vpc_security_group_ids.is_empty() && groups.len() <= 1 => Vec::new(),
                r => same_set(r.map(|r| &r.vpc_security_group_ids), groups),
            },
            publicly_accessible: unless_default(
                recorded.and_then(|r| r.publicly_accessible),
                db.publicly_accessible().unwrap_or(false),
                false,
            ),
            multi_az: unless_default(
                recorded.and_then(|r| r.multi_az),
                db.multi_az().unwrap_or(false),
                false,
            ),
            backup_retention_period: db
                .backup_retention_period()
                .and_then(|d| unless_unset(recorded.map(|r| &r.backup_retention_period), d)),
            storage_encrypted: unless_default(
                recorded.and_then(|r| r.storage_encrypted),
                db.storage_encrypted().unwrap_or(false),
                false,
            ),
            deletion_protection: unless_default(
                recorded.and_then(|r| r.deletion_protection),
                db.deletion_protection().unwrap_or(false),
                false,
            ),
            skip_final_snapshot: recorded.is_some_and(|r| r.skip_final_snapshot),
            tags: own_tags_of(cx, &from_sdk(db.tag_list())),
        };
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(inputs),
            outputs,
        })
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let rds = Rds::of(cx).await;
        let (o, n) = (ch.old, ch.new);
        if n.allocated_storage < o.allocated_storage {
            return Err(ProviderError::permanent(format!(
                "DB instance `{}` cannot shrink from {} GiB to {} GiB: RDS storage only grows; keep the size, or move the data to a new instance",
                ch.id, o.allocated_storage, n.allocated_storage
            )));
        }
        let pick = |changed: bool| changed.then_some(());
        let m = rds
            .c
            .modify_db_instance()
            .db_instance_identifier(ch.id)
            .apply_immediately(true)
            .set_engine_version(
                pick(o.engine_version != n.engine_version).and(n.engine_version.clone()),
            )
            .set_allow_major_version_upgrade(
                pick(o.engine_version != n.engine_version).map(|_| true),
            )
            .set_db_instance_class(
                pick(o.instance_class != n.instance_class).map(|_| n.instance_class.clone()),
            )
            .set_allocated_storage(
                pick(o.allocated_storage != n.allocated_storage).map(|_| n.allocated_storage),
            )
            .set_storage_type(pick(o.storage_type != n.storage_type).and(n.storage_type.clone()))
            .set_master_user_password(pick(o.password != n.password).and(n.password.clone()))
            .set_db_port_number(pick(o.port != n.port).and(n.port))
            .set_vpc_security_group_ids(
                pick(differ(&o.vpc_security_group_ids, &n.vpc_security_group_ids))
                    .map(|_| n.vpc_security_group_ids.clone()),
            )
            .set_publicly_accessible(
                pick(o.publicly_accessible != n.publicly_accessible)
                    .map(|_| n.publicly_accessible.unwrap_or(false)),
            )
            .set_multi_az(pick(o.multi_az != n.multi_az).map(|_| n.multi_az.unwrap_or(false)))
            .set_backup_retention_period(
                pick(o.backup_retention_period != n.backup_retention_period)
                    .and(n.backup_retention_period),
            )
            .set_deletion_protection(
                pick(o.deletion_protection != n.deletion_protection)
                    .map(|_| n.deletion_protection.unwrap_or(false)),
            );
        let only_local = DbInstanceInputs {
            tags: o.tags.clone(),
            skip_final_snapshot: o.skip_final_snapshot,
            ..n.clone()
        } == *o;
        if !only_local {
            m.send().await.map_err(rds.err("ModifyDBInstance"))?;
        }
        rds.sync_tags(&ch.old_outputs.arn, &o.tags, &n.tags).await?;
        Ok(db_outputs(&rds.available(ch.id).await?))
    }

    async fn delete(cx: &Cx<'_>, id: &str, i: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        let rds = Rds::of(cx).await;
        let snapshot = (!i.skip_final_snapshot).then(|| {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            format!("{id}-final-{secs}")
        });
        let r = rds
            .c
            .delete_db_instance()
            .db_instance_identifier(id)
            .skip_final_snapshot(snapshot.is_none())
            .set_final_db_snapshot_identifier(snapshot)
            .delete_automated_backups(true)
            .send()
            .await;
        match r {
            // Being deleted (an earlier attempt's call went through): wait.
            // Busy otherwise (modifying, backing up): try again later.
            Err(e) if e.code() == Some("InvalidDBInstanceState") => {
                let status = rds
                    .db(id)
                    .await?
                    .and_then(|d| d.db_instance_status().map(String::from));
                if status.as_deref() != Some("deleting") && status.is_some() {
                    let mut pe = rds.err("DeleteDBInstance")(e);
                    pe.class = mkso::ErrorClass::Retryable;
                    return Err(pe);
                }
            }
            Err(e) if e.code() == Some("InvalidParameterCombination") => {
                let mut pe = rds.err("DeleteDBInstance")(e);
                pe.message = format!(
                    "{}: if deletion protection is on, set `deletion_protection(false)`, run `up`, then delete",
                    pe.message
                );
                return Err(pe);
            }
            r => {
                if found(r.map_err(rds.err("DeleteDBInstance")))?.is_none() {
                    return Ok(());
                }
            }
        }
        rds.gone(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_checked() {
        assert!(name_problem("id", "app-db-1", 63).is_none());
        for bad in ["", "1db", "db-", "a--b", "App", "a_b", &"a".repeat(64)] {
            assert!(name_problem("id", bad, 63).is_some(), "{bad}");
        }
    }

    #[test]
    fn a_minor_release_of_the_recorded_version_is_no_drift() {
        let r = Some("16".to_string());
        assert_eq!(engine_version(Some(&r), Some("16.3")), r);
        assert_eq!(
            engine_version(Some(&r), Some("17.1")),
            Some("17.1".to_string())
        );
        assert_eq!(engine_version(Some(&None), Some("16.3")), None);
        assert_eq!(engine_version(None, Some("16.3")), Some("16.3".to_string()));
    }
}
