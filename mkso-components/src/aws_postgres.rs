//! `AwsPostgres`: a PostgreSQL instance in private subnets (a DB subnet
//! group), in a security group that takes the Postgres port from one other
//! security group only (the application's); its master password is a
//! secret property.
//!
//! ```
//! use mkso::prelude::*;
//! use mkso_components::{AwsPostgres, AwsPostgresArgs};
//!
//! fn program(stack: &Stack) -> Result<(), mkso::Error> {
//!     let args = AwsPostgresArgs::new(
//!         Output::new("vpc-1".to_string()),
//!         Output::new(vec!["subnet-a".to_string(), "subnet-b".to_string()]),
//!         Output::new("sg-app".to_string()),
//!         Output::secret("not a real password".to_string()),
//!     );
//!     let db = AwsPostgres::new(stack, "db", args, ResourceOptions::new())?;
//!     stack.export("db_endpoint", db.endpoint.clone());
//!     Ok(())
//! }
//! let graph = mkso::testing::preview(program).stack("aws.app.QA").run().unwrap();
//! assert_eq!(graph.resources_of_type("aws:rds:DbInstance").len(), 1);
//! ```

use std::collections::BTreeMap;

use mkso::prelude::*;
use mkso_providers_aws::{
    DbInstance, DbInstanceArgs, DbSubnetGroup, DbSubnetGroupArgs, SecurityGroup, SecurityGroupArgs,
    SecurityGroupRule, SecurityGroupRuleArgs,
};

/// The database's settings.
#[derive(Debug, Clone)]
pub struct AwsPostgresArgs {
    /// The VPC.
    pub vpc_id: Output<String>,
    /// Its subnets (private ones, in two zones at least).
    pub subnet_ids: Output<Vec<String>>,
    /// The one security group whose members may connect.
    pub allowed_security_group_id: Output<String>,
    /// The master user's password (kept secret whatever is passed).
    pub password: Output<String>,
    /// The master user (default `app`).
    pub username: String,
    /// The database created with the instance (default `app`).
    pub db_name: String,
    /// The Postgres major version (default `16`).
    pub engine_version: String,
    /// The instance class (default `db.t3.micro`).
    pub instance_class: String,
    /// Storage in GiB (default 20; it only grows).
    pub allocated_storage: i32,
    /// A standby in another zone (default no).
    pub multi_az: bool,
    /// Days of automated backups (default 7).
    pub backup_retention_period: i32,
    /// Refuse deletes (default no).
    pub deletion_protection: bool,
    /// Delete without a final snapshot (default no: take one).
    pub skip_final_snapshot: bool,
    /// Tags for every resource of the database.
    pub tags: BTreeMap<String, String>,
}

impl AwsPostgresArgs {
    /// Settings with the defaults: Postgres 16 on a `db.t3.micro` with 20
    /// GiB, user and database `app`, a week of backups, a final snapshot.
    pub fn new(
        vpc_id: Output<String>,
        subnet_ids: Output<Vec<String>>,
        allowed_security_group_id: Output<String>,
        password: Output<String>,
    ) -> AwsPostgresArgs {
        AwsPostgresArgs {
            vpc_id,
            subnet_ids,
            allowed_security_group_id,
            password,
            username: "app".to_string(),
            db_name: "app".to_string(),
            engine_version: "16".to_string(),
            instance_class: "db.t3.micro".to_string(),
            allocated_storage: 20,
            multi_az: false,
            backup_retention_period: 7,
            deletion_protection: false,
            skip_final_snapshot: false,
            tags: BTreeMap::new(),
        }
    }
}

/// A database; see the module docs.
#[derive(Debug, Clone, mkso::ComponentOutputs)]
pub struct AwsPostgres {
    /// The component.
    pub component: ComponentResource,
    /// `<address>:<port>`.
    pub endpoint: Output<String>,
    /// The host name clients connect to.
    pub address: Output<String>,
    /// The port clients connect to.
    pub port: Output<i32>,
    /// The instance's identifier.
    pub identifier: Output<String>,
    /// The database's security group.
    pub security_group_id: Output<String>,
}

/// Postgres's port.
const PORT: i32 = 5432;

impl AwsPostgres {
    /// The component's type token.
    pub const TYPE: &'static str = "mkso:components:AwsPostgres";

    /// Declares the database `name`.
    pub fn new(
        stack: &Stack,
        name: &str,
        args: AwsPostgresArgs,
        opts: ResourceOptions,
    ) -> Result<Self, mkso::Error> {
        if args.allocated_storage < 20 {
            return Err(mkso::Error::program(format!(
                "database `{name}`: allocated_storage {} GiB is below the 20 GiB RDS gives gp2/gp3 storage",
                args.allocated_storage
            )));
        }
        let c = stack.component(Self::TYPE, name, opts)?;
        let o = || c.child_opts();
        let tags = args.tags.clone();

        let sg = SecurityGroup::new(
            stack,
            "sg",
            SecurityGroupArgs::builder()
                .vpc_id(args.vpc_id.clone())
                .description(Some(format!("database {name}")))
                .tags(tags.clone()),
            o(),
        )?;
        SecurityGroupRule::new(
            stack,
            "from-app",
            SecurityGroupRuleArgs::builder()
                .security_group_id(sg.id())
                .direction("ingress")
                .protocol("tcp")
                .from_port(PORT)
                .to_port(PORT)
                .source_security_group_id(args.allowed_security_group_id.map(Some))
                .description(Some("Postgres from the application".to_string())),
            o(),
        )?;
        let subnets = DbSubnetGroup::new(
            stack,
            "subnets",
            DbSubnetGroupArgs::builder()
                .description(Some(format!("subnets of database {name}")))
                .subnet_ids(args.subnet_ids.clone())
                .tags(tags.clone()),
            o(),
        )?;
        let db = DbInstance::new(
            stack,
            "instance",
            DbInstanceArgs::builder()
                .engine("postgres")
                .engine_version(Some(args.engine_version.clone()))
                .instance_class(args.instance_class.clone())
                .allocated_storage(args.allocated_storage)
                .db_name(Some(args.db_name.clone()))
                .username(args.username.clone())
                .password(args.password.clone())
                .port(Some(PORT))
                .db_subnet_group_name(subnets.id().map(Some))
                .vpc_security_group_ids(sg.id().map(|g| vec![g]))
                .multi_az(Some(args.multi_az))
                .backup_retention_period(Some(args.backup_retention_period))
                .deletion_protection(Some(args.deletion_protection))
                .skip_final_snapshot(args.skip_final_snapshot)
                .tags(tags.clone()),
            o(),
        )?;
        let pg = AwsPostgres {
            component: c,
            endpoint: db.endpoint(),
            address: db.address(),
            port: db.port(),
            identifier: db.id(),
            security_group_id: sg.id(),
        };
        pg.component.register_outputs(&pg);
        Ok(pg)
    }
}
