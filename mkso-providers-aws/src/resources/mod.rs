//! The resource types, one cargo feature per AWS service: each declared with `#[derive(mkso::Resource)]`
//! (field metadata: replace-forcing, secret, tags) and implemented as a
//! [`CustomResource`](mkso::typed::CustomResource) of [`AwsState`], registered
//! in [`register`]; what they share is in [`common`].

#[cfg(feature = "ec2")]
mod acl;
#[cfg(feature = "autoscaling")]
mod autoscaling;
mod common;
#[cfg(feature = "ec2")]
mod compute;
#[cfg(feature = "ec2")]
mod ebs;
#[cfg(feature = "ec2")]
mod ec2;
#[cfg(feature = "ec2")]
mod ec2_calls;
#[cfg(feature = "ec2")]
mod egress;
#[cfg(feature = "elbv2")]
mod elbv2;
#[cfg(feature = "ec2")]
mod endpoint;
#[cfg(feature = "iam")]
mod iam;
#[cfg(feature = "ec2")]
mod interface;
#[cfg(any(
    feature = "s3",
    feature = "iam",
    feature = "elbv2",
    feature = "rds",
    feature = "route53",
    feature = "autoscaling"
))]
mod naming;
#[cfg(feature = "ec2")]
mod network;
#[cfg(feature = "ec2")]
mod peering;
#[cfg(feature = "ec2")]
mod placement;
#[cfg(feature = "rds")]
mod rds;
#[cfg(feature = "route53")]
mod route53;
#[cfg(feature = "ec2")]
mod security;
#[cfg(feature = "s3")]
mod storage;
#[cfg(feature = "ec2")]
mod template;

use std::collections::BTreeMap;

use mkso::typed::TypedProviderBuilder;
#[cfg(any(
    feature = "s3",
    feature = "iam",
    feature = "elbv2",
    feature = "rds",
    feature = "route53",
    feature = "autoscaling"
))]
use serde::{Deserialize, Serialize};

use crate::provider::AwsState;
#[cfg(feature = "ec2")]
pub(crate) use common::Call;
#[cfg(feature = "ec2")]
pub use ec2::*;

#[cfg_attr(not(feature = "ec2"), allow(dead_code))]
type Tags = BTreeMap<String, String>;

/// Registers every type of the enabled features.
pub(crate) fn register(b: TypedProviderBuilder<AwsState>) -> TypedProviderBuilder<AwsState> {
    #[cfg(feature = "ec2")]
    let b = b
        .resource::<Vpc>()
        .resource::<Subnet>()
        .resource::<InternetGateway>()
        .resource::<RouteTable>()
        .resource::<Route>()
        .resource::<RouteTableAssociation>()
        .resource::<SecurityGroup>()
        .resource::<SecurityGroupRule>()
        .resource::<Instance>()
        .resource::<Eip>()
        .resource::<NatGateway>()
        .resource::<KeyPair>()
        .resource::<Volume>()
        .resource::<VolumeAttachment>()
        .resource::<EgressOnlyInternetGateway>()
        .resource::<EipAssociation>()
        .resource::<NetworkAcl>()
        .resource::<NetworkAclEntry>()
        .resource::<LaunchTemplate>()
        .resource::<NetworkInterface>()
        .resource::<VpcEndpoint>()
        .resource::<VpcPeeringConnection>()
        .resource::<VpcPeeringConnectionAccepter>()
        .resource::<PlacementGroup>();
    #[cfg(feature = "s3")]
    let b = b.resource::<Bucket>();
    #[cfg(feature = "iam")]
    let b = b
        .resource::<Role>()
        .resource::<Policy>()
        .resource::<RolePolicyAttachment>()
        .resource::<InstanceProfile>();
    #[cfg(feature = "elbv2")]
    let b = b
        .resource::<LoadBalancer>()
        .resource::<TargetGroup>()
        .resource::<Listener>()
        .resource::<TargetGroupAttachment>();
    #[cfg(feature = "rds")]
    let b = b.resource::<DbSubnetGroup>().resource::<DbInstance>();
    #[cfg(feature = "route53")]
    let b = b.resource::<HostedZone>().resource::<Record>();
    #[cfg(feature = "autoscaling")]
    let b = b.resource::<AutoScalingGroup>();
    b
}

/// An S3 bucket (`aws:s3:Bucket`, feature `s3`), with versioning, default
/// encryption and the public-access block. Replaced when its name changes.
#[cfg(feature = "s3")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:s3:Bucket", resource = Bucket, outputs = BucketOutputs)]
pub struct BucketInputs {
    /// The bucket's (global) name; default `<stack>-<resource name>-<hash>`
    /// in lower case (the hash: 8 hex digits of the resource's URN, so the
    /// same resource always gets the same name).
    #[mkso(replace)]
    pub bucket: Option<String>,
    /// Keep every version of every object.
    #[serde(default)]
    pub versioning: bool,
    /// Default encryption: `AES256`, `aws:kms` or `aws:kms:dsse` (default:
    /// S3's own, AES256).
    pub sse_algorithm: Option<String>,
    /// Block every form of public access (the four settings of the
    /// public-access block). Default on.
    pub block_public_access: Option<bool>,
    /// Delete the bucket's objects (all versions) when it is deleted;
    /// otherwise deleting a bucket that holds objects fails.
    #[serde(default)]
    pub force_destroy: bool,
    /// The bucket's own tags (set whole, with the managed and default tags).
    #[serde(default)]
    pub tags: Tags,
}

/// Outputs of [`Bucket`].
#[cfg(feature = "s3")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Bucket)]
pub struct BucketOutputs {
    /// The bucket's name.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// `<name>.s3.amazonaws.com`.
    pub bucket_domain_name: String,
    /// Its region.
    pub region: String,
}

/// An IAM role (`aws:iam:Role`, feature `iam`). Replaced when its name or
/// path changes; its trust policy, description, session length and tags
/// change in place.
#[cfg(feature = "iam")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:iam:Role", resource = Role, outputs = RoleOutputs)]
pub struct RoleInputs {
    /// The role's name (global to the account); default
    /// `<stack>-<resource name>-<hash>`.
    #[mkso(replace)]
    pub name: Option<String>,
    /// Its path (default `/`).
    #[mkso(replace)]
    pub path: Option<String>,
    /// Who may assume it: a JSON trust policy document
    /// (`serde_json::json!(..).to_string()`).
    pub assume_role_policy: String,
    /// What it is for.
    pub description: Option<String>,
    /// The longest session, in seconds (default IAM's, 3600).
    pub max_session_duration: Option<i32>,
    /// The role's own tags.
    #[serde(default)]
    pub tags: Tags,
}

/// Outputs of [`Role`].
#[cfg(feature = "iam")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Role)]
pub struct RoleOutputs {
    /// The role's name.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// IAM's unique id for it (`AROA...`).
    pub unique_id: String,
}

/// A customer-managed IAM policy (`aws:iam:Policy`, feature `iam`). A new
/// document becomes a new default version (the oldest one goes when there
/// are five); a new name, path or description replaces it.
#[cfg(feature = "iam")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:iam:Policy", resource = Policy, outputs = PolicyOutputs)]
pub struct PolicyInputs {
    /// The policy's name; default `<stack>-<resource name>-<hash>`.
    #[mkso(replace)]
    pub name: Option<String>,
    /// Its path (default `/`).
    #[mkso(replace)]
    pub path: Option<String>,
    /// The JSON policy document.
    pub policy: String,
    /// What it is for (IAM cannot change it: a new one replaces the policy).
    #[mkso(replace)]
    pub description: Option<String>,
    /// The policy's own tags.
    #[serde(default)]
    pub tags: Tags,
}

/// Outputs of [`Policy`].
#[cfg(feature = "iam")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Policy)]
pub struct PolicyOutputs {
    /// Its ARN (the id).
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// The version in force (`v1`, `v2`, ...).
    pub default_version_id: String,
}

/// A managed policy attached to a role (`aws:iam:RolePolicyAttachment`,
/// feature `iam`), id `<role name>/<policy arn>`. Replaced when either
/// changes.
#[cfg(feature = "iam")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(
    type = "aws:iam:RolePolicyAttachment",
    resource = RolePolicyAttachment,
    outputs = RolePolicyAttachmentOutputs
)]
pub struct RolePolicyAttachmentInputs {
    /// The role's name.
    #[mkso(replace)]
    pub role: String,
    /// The policy's ARN (a customer-managed or an AWS-managed one).
    #[mkso(replace)]
    pub policy_arn: String,
}

/// Outputs of [`RolePolicyAttachment`].
#[cfg(feature = "iam")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = RolePolicyAttachment)]
pub struct RolePolicyAttachmentOutputs {
    /// `<role name>/<policy arn>`.
    pub id: String,
}

/// An instance profile (`aws:iam:InstanceProfile`, feature `iam`): how an
/// EC2 instance takes a role. Its role changes in place; a new name or path
/// replaces it.
#[cfg(feature = "iam")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(
    type = "aws:iam:InstanceProfile",
    resource = InstanceProfile,
    outputs = InstanceProfileOutputs
)]
pub struct InstanceProfileInputs {
    /// The profile's name; default `<stack>-<resource name>-<hash>`.
    #[mkso(replace)]
    pub name: Option<String>,
    /// Its path (default `/`).
    #[mkso(replace)]
    pub path: Option<String>,
    /// The role's name (a profile holds at most one).
    pub role: Option<String>,
    /// The profile's own tags.
    #[serde(default)]
    pub tags: Tags,
}

/// Outputs of [`InstanceProfile`].
#[cfg(feature = "iam")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = InstanceProfile)]
pub struct InstanceProfileOutputs {
    /// The profile's name.
    pub id: String,
    /// Its ARN (what an instance's `iam_instance_profile` takes).
    pub arn: String,
    /// IAM's unique id for it.
    pub unique_id: String,
}

/// An application (or network) load balancer (`aws:elbv2:LoadBalancer`,
/// feature `elbv2`). Its subnets and security groups change in place; a new
/// name, scheme or type replaces it.
#[cfg(feature = "elbv2")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:elbv2:LoadBalancer", resource = LoadBalancer, outputs = LoadBalancerOutputs)]
pub struct LoadBalancerInputs {
    /// The name (at most 32 letters, digits and hyphens, unique in the
    /// region); default `<stack>-<resource name>-<hash>`.
    #[mkso(replace)]
    pub name: Option<String>,
    /// Internal (reachable from the VPC only) rather than internet-facing.
    #[mkso(replace)]
    pub internal: Option<bool>,
    /// `application` (default) or `network`.
    #[mkso(replace)]
    pub load_balancer_type: Option<String>,
    /// Its subnets, one per availability zone (an application load balancer
    /// needs two zones at least).
    pub subnets: Vec<String>,
    /// Its security groups (application load balancers).
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// The load balancer's own tags.
    #[serde(default)]
    pub tags: Tags,
}

/// Outputs of [`LoadBalancer`].
#[cfg(feature = "elbv2")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = LoadBalancer)]
pub struct LoadBalancerOutputs {
    /// Its ARN (the id).
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Its DNS name (what clients and a DNS record point at).
    pub dns_name: String,
    /// The Route 53 zone of its DNS name (for an alias record).
    pub zone_id: String,
    /// Its VPC.
    pub vpc_id: String,
}

/// A target group (`aws:elbv2:TargetGroup`, feature `elbv2`): where a
/// listener forwards to. Its health check and deregistration delay change
/// in place; a new name, port, protocol, VPC or target type replaces it.
#[cfg(feature = "elbv2")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:elbv2:TargetGroup", resource = TargetGroup, outputs = TargetGroupOutputs)]
pub struct TargetGroupInputs {
    /// The name (at most 32 letters, digits and hyphens); default
    /// `<stack>-<resource name>-<hash>`.
    #[mkso(replace)]
    pub name: Option<String>,
    /// The port the targets listen on.
    #[mkso(replace)]
    pub port: i32,
    /// `HTTP` (default), `HTTPS`, `TCP`, ...
    #[mkso(replace)]
    pub protocol: Option<String>,
    /// The VPC of the targets.
    #[mkso(replace)]
    pub vpc_id: String,
    /// `instance` (default), `ip` or `lambda`.
    #[mkso(replace)]
    pub target_type: Option<String>,
    /// The health check's path (HTTP/HTTPS; default ELB's, `/`).
    pub health_check_path: Option<String>,
    /// Seconds between health checks (default ELB's, 30).
    pub health_check_interval: Option<i32>,
    /// The HTTP codes of a healthy answer, e.g. `200-299` (default `200`).
    pub health_check_matcher: Option<String>,
    /// Checks in a row that make a target healthy (default ELB's, 5).
    pub healthy_threshold: Option<i32>,
    /// Checks in a row that make a target unhealthy (default ELB's, 2).
    pub unhealthy_threshold: Option<i32>,
    /// Seconds a deregistered target keeps its connections (default 300).
    pub deregistration_delay: Option<i32>,
    /// The target group's own tags.
    #[serde(default)]
    pub tags: Tags,
}

/// Outputs of [`TargetGroup`].
#[cfg(feature = "elbv2")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = TargetGroup)]
pub struct TargetGroupOutputs {
    /// Its ARN (the id).
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
}

/// A listener of a load balancer (`aws:elbv2:Listener`, feature `elbv2`)
/// forwarding to a target group. Port, protocol, target group, certificate
/// and TLS policy change in place; a new load balancer replaces it.
#[cfg(feature = "elbv2")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:elbv2:Listener", resource = Listener, outputs = ListenerOutputs)]
pub struct ListenerInputs {
    /// The load balancer's ARN.
    #[mkso(replace)]
    pub load_balancer_arn: String,
    /// The port it listens on (one listener per port).
    pub port: i32,
    /// `HTTP` (default), `HTTPS`, `TCP`, `TLS`, ...
    pub protocol: Option<String>,
    /// The target group it forwards to.
    pub target_group_arn: String,
    /// The certificate's ARN (`HTTPS`, `TLS`).
    pub certificate_arn: Option<String>,
    /// The TLS policy (`HTTPS`, `TLS`; default ELB's).
    pub ssl_policy: Option<String>,
    /// The listener's own tags.
    #[serde(default)]
    pub tags: Tags,
}

/// Outputs of [`Listener`].
#[cfg(feature = "elbv2")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Listener)]
pub struct ListenerOutputs {
    /// Its ARN (the id).
    pub id: String,
    /// Its ARN.
    pub arn: String,
}

/// A target registered with a target group
/// (`aws:elbv2:TargetGroupAttachment`, feature `elbv2`), id
/// `<target group arn>/<target id>[/<port>]`. Replaced when any input
/// changes.
#[cfg(feature = "elbv2")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(
    type = "aws:elbv2:TargetGroupAttachment",
    resource = TargetGroupAttachment,
    outputs = TargetGroupAttachmentOutputs
)]
pub struct TargetGroupAttachmentInputs {
    /// The target group's ARN.
    #[mkso(replace)]
    pub target_group_arn: String,
    /// The target: an instance id (`instance` groups), an IP address (`ip`)
    /// or a Lambda function's ARN (`lambda`).
    #[mkso(replace)]
    pub target_id: String,
    /// The port the target listens on (default: the group's).
    #[mkso(replace)]
    pub port: Option<i32>,
}

/// Outputs of [`TargetGroupAttachment`].
#[cfg(feature = "elbv2")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = TargetGroupAttachment)]
pub struct TargetGroupAttachmentOutputs {
    /// `<target group arn>/<target id>[/<port>]`.
    pub id: String,
}

/// A DB subnet group (`aws:rds:DbSubnetGroup`, feature `rds`): the subnets
/// a database may be placed in. Its subnets and description change in
/// place; a new name replaces it.
#[cfg(feature = "rds")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:rds:DbSubnetGroup", resource = DbSubnetGroup, outputs = DbSubnetGroupOutputs)]
pub struct DbSubnetGroupInputs {
    /// The name (lower case letters, digits, hyphens); default
    /// `<stack>-<resource name>-<hash>` in lower case.
    #[mkso(replace)]
    pub name: Option<String>,
    /// What it is for (default `Managed by mkso`).
    pub description: Option<String>,
    /// Its subnets, in two availability zones at least.
    pub subnet_ids: Vec<String>,
    /// The group's own tags.
    #[serde(default)]
    pub tags: Tags,
}

/// Outputs of [`DbSubnetGroup`].
#[cfg(feature = "rds")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = DbSubnetGroup)]
pub struct DbSubnetGroupOutputs {
    /// Its name (the id).
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// The VPC of its subnets.
    pub vpc_id: String,
}

/// A database instance (`aws:rds:DbInstance`, feature `rds`). Class,
/// storage (it only grows), engine version, password, security groups,
/// port, multi-AZ, public access, backups and deletion protection change in
/// place (applied at once); a new identifier, engine, database name, master
/// user, subnet group or encryption replaces it. Deleting it takes a final
/// snapshot `<identifier>-final-<time>` unless `skip_final_snapshot`.
#[cfg(feature = "rds")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:rds:DbInstance", resource = DbInstance, outputs = DbInstanceOutputs)]
pub struct DbInstanceInputs {
    /// The identifier (lower case letters, digits, hyphens, starting with a
    /// letter; at most 63); default `<stack>-<resource name>-<hash>` in
    /// lower case.
    #[mkso(replace)]
    pub identifier: Option<String>,
    /// The engine: `postgres`, `mysql`, `mariadb`, ...
    #[mkso(replace)]
    pub engine: String,
    /// The engine version (default RDS's for the engine); a newer one
    /// upgrades in place.
    pub engine_version: Option<String>,
    /// The instance class, e.g. `db.t3.micro`.
    pub instance_class: String,
    /// Storage in GiB (it only grows).
    pub allocated_storage: i32,
    /// `gp3`, `gp2`, `io1`, ... (default RDS's).
    pub storage_type: Option<String>,
    /// The database created with the instance.
    #[mkso(replace)]
    pub db_name: Option<String>,
    /// The master user's name.
    #[mkso(replace)]
    pub username: String,
    /// The master user's password: always secret, in state and plans.
    /// RDS never answers with it: drift in it cannot be seen, and an
    /// imported instance gets the program's password at its next update.
    #[mkso(secret)]
    pub password: Option<String>,
    /// The port (default the engine's).
    pub port: Option<i32>,
    /// The subnet group (default: the default VPC's).
    #[mkso(replace)]
    pub db_subnet_group_name: Option<String>,
    /// Its VPC security groups.
    #[serde(default)]
    pub vpc_security_group_ids: Vec<String>,
    /// Reachable from the internet (default no).
    pub publicly_accessible: Option<bool>,
    /// A standby in another zone (default no).
    pub multi_az: Option<bool>,
    /// Days of automated backups (0 turns them off; default RDS's, 1).
    pub backup_retention_period: Option<i32>,
    /// Encrypt its storage (default no).
    #[mkso(replace)]
    pub storage_encrypted: Option<bool>,
    /// Refuse to delete it (RDS refuses too): turn it off before a delete.
    pub deletion_protection: Option<bool>,
    /// Delete it without a final snapshot (default: take one).
    #[serde(default)]
    pub skip_final_snapshot: bool,
    /// The instance's own tags.
    #[serde(default)]
    pub tags: Tags,
}

/// Outputs of [`DbInstance`].
#[cfg(feature = "rds")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = DbInstance)]
pub struct DbInstanceOutputs {
    /// Its identifier (the id).
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// The host name clients connect to.
    #[mkso(computed)]
    pub address: String,
    /// The port clients connect to.
    #[mkso(computed)]
    pub port: i32,
    /// `<address>:<port>`.
    #[mkso(computed)]
    pub endpoint: String,
    /// RDS's unique id for it (`db-...`).
    pub resource_id: String,
}

/// A Route 53 hosted zone (`aws:route53:HostedZone`, feature `route53`):
/// public, or private to a VPC. Its comment changes in place; a new name or
/// VPC replaces it.
#[cfg(feature = "route53")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:route53:HostedZone", resource = HostedZone, outputs = HostedZoneOutputs)]
pub struct HostedZoneInputs {
    /// The domain, e.g. `example.com`.
    #[mkso(replace)]
    pub name: String,
    /// What it is for (default `Managed by mkso`).
    pub comment: Option<String>,
    /// Private to this VPC (of the provider's region); unset: public.
    #[mkso(replace)]
    pub vpc_id: Option<String>,
    /// Delete the records mkso does not manage with the zone (default: a
    /// zone that still holds records is not deleted).
    #[serde(default)]
    pub force_destroy: bool,
    /// The zone's own tags.
    #[serde(default)]
    pub tags: Tags,
}

/// Outputs of [`HostedZone`].
#[cfg(feature = "route53")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = HostedZone)]
pub struct HostedZoneOutputs {
    /// Its id (`Z...`).
    pub id: String,
    /// Its id (what a record's `zone_id` takes).
    pub zone_id: String,
    /// Its domain (no trailing dot).
    pub name: String,
    /// The name servers to delegate the domain to (public zones).
    pub name_servers: Vec<String>,
}

/// A DNS record set (`aws:route53:Record`, feature `route53`), id
/// `<zone id>_<name>_<type>`: plain values with a TTL, or an alias to an
/// AWS endpoint (a load balancer). Values, TTL and alias change in place; a
/// new zone, name or type replaces it.
#[cfg(feature = "route53")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:route53:Record", resource = Record, outputs = RecordOutputs)]
pub struct RecordInputs {
    /// The zone's id.
    #[mkso(replace)]
    pub zone_id: String,
    /// The full name, e.g. `www.example.com`.
    #[mkso(replace)]
    pub name: String,
    /// `A`, `AAAA`, `CNAME`, `TXT`, `MX`, ...
    #[mkso(replace)]
    pub record_type: String,
    /// Seconds resolvers keep it (plain values; default 300).
    pub ttl: Option<i64>,
    /// Its values (plain records).
    #[serde(default)]
    pub records: Vec<String>,
    /// An alias instead of values: the target's DNS name (a load
    /// balancer's `dns_name`).
    pub alias_name: Option<String>,
    /// The alias target's hosted zone (a load balancer's `zone_id`).
    pub alias_zone_id: Option<String>,
    /// Answer for the alias only while its target is healthy (default no).
    pub alias_evaluate_target_health: Option<bool>,
}

/// Outputs of [`Record`].
#[cfg(feature = "route53")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Record)]
pub struct RecordOutputs {
    /// `<zone id>_<name>_<type>`.
    pub id: String,
    /// The full name (no trailing dot).
    pub fqdn: String,
}

/// An Auto Scaling group (`aws:autoscaling:AutoScalingGroup`, feature
/// `autoscaling`) launching from a launch template, registering its
/// instances with target groups. Sizes, template version, subnets, target
/// groups, health check and tags change in place (instances already running
/// keep their template version); a new name replaces it.
#[cfg(feature = "autoscaling")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(
    type = "aws:autoscaling:AutoScalingGroup",
    resource = AutoScalingGroup,
    outputs = AutoScalingGroupOutputs
)]
pub struct AutoScalingGroupInputs {
    /// The name (unique in the region); default
    /// `<stack>-<resource name>-<hash>`.
    #[mkso(replace)]
    pub name: Option<String>,
    /// The launch template's id.
    pub launch_template_id: String,
    /// Which version to launch (default `$Default`; pass the template's
    /// `latest_version` to follow its changes).
    pub launch_template_version: Option<String>,
    /// The fewest instances.
    pub min_size: i32,
    /// The most instances.
    pub max_size: i32,
    /// How many to run (default `min_size`).
    pub desired_capacity: Option<i32>,
    /// The subnets it launches into.
    pub subnet_ids: Vec<String>,
    /// Target groups its instances are registered with.
    #[serde(default)]
    pub target_group_arns: Vec<String>,
    /// `EC2` (default) or `ELB` (replace instances the load balancer finds
    /// unhealthy).
    pub health_check_type: Option<String>,
    /// Seconds a new instance has before health checks count (default 300).
    pub health_check_grace_period: Option<i32>,
    /// The group's own tags, given to its instances too.
    #[serde(default)]
    pub tags: Tags,
}

/// Outputs of [`AutoScalingGroup`].
#[cfg(feature = "autoscaling")]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = AutoScalingGroup)]
pub struct AutoScalingGroupOutputs {
    /// Its name (the id).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
}
