//! The EC2 resource types: each declared with `#[derive(mkso::Resource)]`
//! (field metadata: replace-forcing, secret, tags) and implemented as a
//! [`CustomResource`](mkso::typed::CustomResource) of [`AwsState`], registered
//! in [`register`]; what they share is in [`common`].

mod acl;
#[cfg(feature = "autoscaling")]
mod autoscaling;
mod common;
mod compute;
mod ebs;
mod egress;
#[cfg(feature = "elbv2")]
mod elbv2;
#[cfg(feature = "iam")]
mod iam;
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
mod network;
#[cfg(feature = "rds")]
mod rds;
#[cfg(feature = "route53")]
mod route53;
mod security;
#[cfg(feature = "s3")]
mod storage;
mod template;

use std::collections::BTreeMap;

use mkso::typed::TypedProviderBuilder;
use serde::{Deserialize, Serialize};

use crate::provider::AwsState;
pub(crate) use common::Call;

type Tags = BTreeMap<String, String>;

/// Registers every EC2 type.
pub(crate) fn register(b: TypedProviderBuilder<AwsState>) -> TypedProviderBuilder<AwsState> {
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
        .resource::<NetworkInterface>();
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

/// An EBS volume (`aws:ec2:Volume`). Its size (it only grows) and type
/// change in place; a new zone or encryption replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:ec2:Volume", resource = Volume, outputs = VolumeOutputs)]
pub struct VolumeInputs {
    /// The availability zone (that of the instance it will attach to).
    #[mkso(replace)]
    pub availability_zone: String,
    /// The size in GiB.
    pub size: i32,
    /// `gp3`, `gp2`, `io1`, `io2`, `st1`, `sc1`, `standard` (default: EC2's, gp2/gp3).
    pub volume_type: Option<String>,
    /// Encrypt it (default: the account's default).
    #[mkso(replace)]
    pub encrypted: Option<bool>,
    /// The resource's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`Volume`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Volume)]
pub struct VolumeOutputs {
    /// The volume id.
    pub id: String,
    /// Its availability zone.
    pub availability_zone: String,
}

/// A volume attached to an instance (`aws:ec2:VolumeAttachment`); its id is
/// `<volume id>:<instance id>`. Any change replaces it (detach, attach).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(
    type = "aws:ec2:VolumeAttachment",
    resource = VolumeAttachment,
    outputs = VolumeAttachmentOutputs
)]
pub struct VolumeAttachmentInputs {
    /// The volume.
    #[mkso(replace)]
    pub volume_id: String,
    /// The instance.
    #[mkso(replace)]
    pub instance_id: String,
    /// The device name, e.g. `/dev/sdf`.
    #[mkso(replace)]
    pub device_name: String,
}

/// Outputs of [`VolumeAttachment`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = VolumeAttachment)]
pub struct VolumeAttachmentOutputs {
    /// `<volume id>:<instance id>`.
    pub id: String,
}

/// An egress-only internet gateway (`aws:ec2:EgressOnlyInternetGateway`):
/// outbound-only IPv6 for a VPC. A new VPC replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(
    type = "aws:ec2:EgressOnlyInternetGateway",
    resource = EgressOnlyInternetGateway,
    outputs = EgressOnlyInternetGatewayOutputs
)]
pub struct EgressOnlyInternetGatewayInputs {
    /// The VPC.
    #[mkso(replace)]
    pub vpc_id: String,
    /// The resource's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`EgressOnlyInternetGateway`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = EgressOnlyInternetGateway)]
pub struct EgressOnlyInternetGatewayOutputs {
    /// The gateway id.
    pub id: String,
}

/// An Elastic IP associated with an instance or a network interface
/// (`aws:ec2:EipAssociation`), apart from the address (an [`Eip`] without
/// `instance_id`). Any change replaces it (disassociate, associate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(
    type = "aws:ec2:EipAssociation",
    resource = EipAssociation,
    outputs = EipAssociationOutputs
)]
pub struct EipAssociationInputs {
    /// The address's allocation id (`eipalloc-...`).
    #[mkso(replace)]
    pub allocation_id: String,
    /// The instance (or give `network_interface_id`).
    #[mkso(replace)]
    pub instance_id: Option<String>,
    /// The network interface (or give `instance_id`).
    #[mkso(replace)]
    pub network_interface_id: Option<String>,
}

/// Outputs of [`EipAssociation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = EipAssociation)]
pub struct EipAssociationOutputs {
    /// The association id (`eipassoc-...`).
    pub id: String,
    /// The address.
    pub public_ip: String,
}

/// A network ACL of a VPC (`aws:ec2:NetworkAcl`); its rules are
/// [`NetworkAclEntry`]s. A new VPC replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:ec2:NetworkAcl", resource = NetworkAcl, outputs = NetworkAclOutputs)]
pub struct NetworkAclInputs {
    /// The VPC.
    #[mkso(replace)]
    pub vpc_id: String,
    /// The resource's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`NetworkAcl`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = NetworkAcl)]
pub struct NetworkAclOutputs {
    /// The ACL id.
    pub id: String,
}

/// One rule of a network ACL (`aws:ec2:NetworkAclEntry`), identified by
/// `<acl id>:<ingress|egress>:<rule number>`. Action, protocol, range and
/// ports change in place; another ACL, number or direction replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(
    type = "aws:ec2:NetworkAclEntry",
    resource = NetworkAclEntry,
    outputs = NetworkAclEntryOutputs
)]
pub struct NetworkAclEntryInputs {
    /// The ACL.
    #[mkso(replace)]
    pub network_acl_id: String,
    /// The rule number (rules apply lowest first).
    #[mkso(replace)]
    pub rule_number: i32,
    /// An egress rule (else ingress).
    #[serde(default)]
    #[mkso(replace)]
    pub egress: bool,
    /// The protocol number (`6` TCP, `17` UDP, `-1` all).
    pub protocol: String,
    /// `allow` or `deny`.
    pub rule_action: String,
    /// The IPv4 range.
    pub cidr_block: String,
    /// The first port (TCP, UDP).
    pub from_port: Option<i32>,
    /// The last port (default: `from_port`).
    pub to_port: Option<i32>,
}

/// Outputs of [`NetworkAclEntry`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = NetworkAclEntry)]
pub struct NetworkAclEntryOutputs {
    /// `<acl id>:<ingress|egress>:<rule number>`.
    pub id: String,
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

/// A launch template (`aws:ec2:LaunchTemplate`): how an Auto Scaling group
/// launches its instances. A change of what it launches makes a new version,
/// the template's default (`latest_version` tells dependents); a new name
/// replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:ec2:LaunchTemplate", resource = LaunchTemplate, outputs = LaunchTemplateOutputs)]
pub struct LaunchTemplateInputs {
    /// The name (unique in the region); default `<stack>-<resource name>`.
    #[mkso(replace)]
    pub name: Option<String>,
    /// The AMI id.
    pub image_id: String,
    /// The instance type, e.g. `t3.micro`.
    pub instance_type: String,
    /// A key pair's name.
    pub key_name: Option<String>,
    /// The instances' security groups.
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// User data (plain text; base64-encoded for EC2). Secret when the
    /// program passes a secret.
    pub user_data: Option<String>,
    /// The instance profile's ARN (the role the instances take).
    pub iam_instance_profile_arn: Option<String>,
    /// The template's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`LaunchTemplate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = LaunchTemplate)]
pub struct LaunchTemplateOutputs {
    /// Its id (`lt-...`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// The newest version (what an Auto Scaling group should launch).
    #[mkso(computed)]
    pub latest_version: i64,
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

/// An elastic network interface (`aws:ec2:NetworkInterface`). Its security
/// groups, description and `source_dest_check` change in place; a new subnet
/// or private address replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(
    type = "aws:ec2:NetworkInterface",
    resource = NetworkInterface,
    outputs = NetworkInterfaceOutputs
)]
pub struct NetworkInterfaceInputs {
    /// The subnet.
    #[mkso(replace)]
    pub subnet_id: String,
    /// Its primary private IPv4 address (default: one the subnet picks).
    #[mkso(replace)]
    pub private_ip: Option<String>,
    /// Its security groups (default: the VPC's default group).
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// What it is for.
    pub description: Option<String>,
    /// Check source/destination of traffic (default on; off for a NAT or
    /// router appliance).
    pub source_dest_check: Option<bool>,
    /// The interface's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`NetworkInterface`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = NetworkInterface)]
pub struct NetworkInterfaceOutputs {
    /// Its id (`eni-...`).
    pub id: String,
    /// Its primary private IPv4 address.
    pub private_ip: String,
    /// Its MAC address.
    pub mac_address: String,
}

/// A VPC (`aws:ec2:Vpc`). Replaced when `cidr_block` changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:ec2:Vpc", resource = Vpc, outputs = VpcOutputs)]
pub struct VpcInputs {
    /// The IPv4 range, e.g. `10.0.0.0/16`.
    #[mkso(replace)]
    pub cidr_block: String,
    /// Give instances DNS hostnames.
    #[serde(default)]
    pub enable_dns_hostnames: bool,
    /// Resolve DNS through the Amazon resolver (default on).
    pub enable_dns_support: Option<bool>,
    /// The resource's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`Vpc`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Vpc)]
pub struct VpcOutputs {
    /// The VPC id.
    pub id: String,
    /// The IPv4 range.
    pub cidr_block: String,
}

/// A subnet (`aws:ec2:Subnet`). Replaced when its VPC, range or zone changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:ec2:Subnet", resource = Subnet, outputs = SubnetOutputs)]
pub struct SubnetInputs {
    /// The VPC.
    #[mkso(replace)]
    pub vpc_id: String,
    /// The IPv4 range, inside the VPC's.
    #[mkso(replace)]
    pub cidr_block: String,
    /// The availability zone (default: AWS chooses).
    #[mkso(replace)]
    pub availability_zone: Option<String>,
    /// Give instances launched here a public IP.
    #[serde(default)]
    pub map_public_ip_on_launch: bool,
    /// The resource's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`Subnet`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Subnet)]
pub struct SubnetOutputs {
    /// The subnet id.
    pub id: String,
    /// Its availability zone.
    pub availability_zone: String,
}

/// An internet gateway (`aws:ec2:InternetGateway`), attached to `vpc_id`
/// when set (attachment changes in place).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(
    type = "aws:ec2:InternetGateway",
    resource = InternetGateway,
    outputs = InternetGatewayOutputs
)]
pub struct InternetGatewayInputs {
    /// The VPC to attach to.
    pub vpc_id: Option<String>,
    /// The resource's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`InternetGateway`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = InternetGateway)]
pub struct InternetGatewayOutputs {
    /// The gateway id.
    pub id: String,
}

/// A route table (`aws:ec2:RouteTable`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:ec2:RouteTable", resource = RouteTable, outputs = RouteTableOutputs)]
pub struct RouteTableInputs {
    /// The VPC.
    #[mkso(replace)]
    pub vpc_id: String,
    /// The resource's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`RouteTable`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = RouteTable)]
pub struct RouteTableOutputs {
    /// The route table id.
    pub id: String,
}

/// A route (`aws:ec2:Route`) to an internet or NAT gateway (set exactly one).
/// Its id is `<route table id>_<destination>`; the target changes in place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:ec2:Route", resource = Route, outputs = RouteOutputs)]
pub struct RouteInputs {
    /// The route table.
    #[mkso(replace)]
    pub route_table_id: String,
    /// The destination, e.g. `0.0.0.0/0`.
    #[mkso(replace)]
    pub destination_cidr_block: String,
    /// An internet gateway target.
    pub gateway_id: Option<String>,
    /// A NAT gateway target.
    pub nat_gateway_id: Option<String>,
}

/// Outputs of [`Route`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Route)]
pub struct RouteOutputs {
    /// `<route table id>_<destination>`.
    pub id: String,
}

/// A route table's association with a subnet (`aws:ec2:RouteTableAssociation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(
    type = "aws:ec2:RouteTableAssociation",
    resource = RouteTableAssociation,
    outputs = RouteTableAssociationOutputs
)]
pub struct RouteTableAssociationInputs {
    /// The route table.
    #[mkso(replace)]
    pub route_table_id: String,
    /// The subnet.
    #[mkso(replace)]
    pub subnet_id: String,
}

/// Outputs of [`RouteTableAssociation`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = RouteTableAssociation)]
pub struct RouteTableAssociationOutputs {
    /// The association id.
    pub id: String,
}

/// A security group (`aws:ec2:SecurityGroup`); its rules are
/// [`SecurityGroupRule`]s. Replaced when name, description or VPC change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(
    type = "aws:ec2:SecurityGroup",
    resource = SecurityGroup,
    outputs = SecurityGroupOutputs
)]
pub struct SecurityGroupInputs {
    /// The group name (default: `<stack>-<resource name>`).
    #[mkso(replace)]
    pub name: Option<String>,
    /// The description (required by EC2; default: "managed by mkso").
    #[mkso(replace)]
    pub description: Option<String>,
    /// The VPC.
    #[mkso(replace)]
    pub vpc_id: String,
    /// The resource's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`SecurityGroup`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = SecurityGroup)]
pub struct SecurityGroupOutputs {
    /// The group id.
    pub id: String,
    /// The group name.
    pub name: String,
}

/// One ingress or egress rule of a security group
/// (`aws:ec2:SecurityGroupRule`). A rule is identified by its content: a
/// description change is made in place; any other change deletes the rule
/// before creating the new one (EC2 refuses a duplicate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(
    type = "aws:ec2:SecurityGroupRule",
    resource = SecurityGroupRule,
    outputs = SecurityGroupRuleOutputs
)]
pub struct SecurityGroupRuleInputs {
    /// The group.
    #[mkso(replace)]
    pub security_group_id: String,
    /// `ingress` or `egress`.
    #[mkso(replace)]
    pub direction: String,
    /// `tcp`, `udp`, `icmp` or `-1` (all).
    #[mkso(replace)]
    pub protocol: String,
    /// First port.
    #[mkso(replace)]
    pub from_port: i32,
    /// Last port.
    #[mkso(replace)]
    pub to_port: i32,
    /// IPv4 ranges.
    #[serde(default)]
    #[mkso(replace)]
    pub cidr_blocks: Vec<String>,
    /// Another group as the source (ingress) or destination (egress).
    #[mkso(replace)]
    pub source_security_group_id: Option<String>,
    /// A description (changes in place).
    pub description: Option<String>,
}

/// Outputs of [`SecurityGroupRule`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = SecurityGroupRule)]
pub struct SecurityGroupRuleOutputs {
    /// The rule id (`sgr-...`).
    pub id: String,
}

/// An EC2 instance (`aws:ec2:Instance`). Tags, security groups and
/// `source_dest_check` change in place; image, type, subnet, key and user
/// data replace it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:ec2:Instance", resource = Instance, outputs = InstanceOutputs)]
pub struct InstanceInputs {
    /// The AMI id.
    #[mkso(replace)]
    pub ami: String,
    /// The instance type, e.g. `t3.micro`.
    #[mkso(replace)]
    pub instance_type: String,
    /// The subnet.
    #[mkso(replace)]
    pub subnet_id: Option<String>,
    /// Security groups.
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// A key pair's name.
    #[mkso(replace)]
    pub key_name: Option<String>,
    /// User data (plain text; mkso encodes it). Secret when the program
    /// passes a secret (e.g. built from a `Secret<T>` config value).
    #[mkso(replace)]
    pub user_data: Option<String>,
    /// Check source/destination of traffic (default on; off for NAT instances).
    pub source_dest_check: Option<bool>,
    /// The instance profile (its ARN, or its name): the IAM role the
    /// instance takes (an `InstanceProfile`'s `arn`).
    #[mkso(replace)]
    pub iam_instance_profile: Option<String>,
    /// The resource's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`Instance`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Instance)]
pub struct InstanceOutputs {
    /// The instance id.
    pub id: String,
    /// Its private IPv4 address.
    pub private_ip: Option<String>,
    /// Its public IPv4 address, if any (an Elastic IP associated since
    /// changes it: read anew by every update).
    #[mkso(computed)]
    pub public_ip: Option<String>,
    /// Its availability zone.
    pub availability_zone: Option<String>,
}

/// An Elastic IP (`aws:ec2:Eip`), optionally associated with an instance
/// (the association changes in place).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:ec2:Eip", resource = Eip, outputs = EipOutputs)]
pub struct EipInputs {
    /// The instance to associate with.
    pub instance_id: Option<String>,
    /// The resource's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`Eip`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Eip)]
pub struct EipOutputs {
    /// The allocation id.
    pub id: String,
    /// The public IPv4 address.
    pub public_ip: String,
    /// The association id, when associated (changes with `instance_id`).
    #[mkso(computed)]
    pub association_id: Option<String>,
}

/// A NAT gateway (`aws:ec2:NatGateway`) in a public subnet with an EIP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:ec2:NatGateway", resource = NatGateway, outputs = NatGatewayOutputs)]
pub struct NatGatewayInputs {
    /// The (public) subnet.
    #[mkso(replace)]
    pub subnet_id: String,
    /// The EIP's allocation id.
    #[mkso(replace)]
    pub allocation_id: String,
    /// The resource's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`NatGateway`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = NatGateway)]
pub struct NatGatewayOutputs {
    /// The NAT gateway id.
    pub id: String,
}

/// A key pair imported from a public key (`aws:ec2:KeyPair`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:ec2:KeyPair", resource = KeyPair, outputs = KeyPairOutputs)]
pub struct KeyPairInputs {
    /// The key name (default: `<stack>-<resource name>`).
    #[mkso(replace)]
    pub key_name: Option<String>,
    /// The public key (OpenSSH format).
    #[mkso(replace)]
    pub public_key: String,
    /// The resource's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`KeyPair`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = KeyPair)]
pub struct KeyPairOutputs {
    /// The key pair id.
    pub id: String,
    /// The key name.
    pub key_name: String,
    /// The fingerprint.
    pub fingerprint: Option<String>,
}
