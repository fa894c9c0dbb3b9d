//! The EC2 resource types: each declared with `#[derive(mkso::Resource)]`
//! (field metadata: replace-forcing, secret, tags) and implemented as a
//! [`CustomResource`] of [`AwsState`], registered in [`register`].

mod compute;
mod network;
mod security;

use std::collections::BTreeMap;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use mkso::ProviderError;
use mkso::provider::ResourceIdentity;
use mkso::typed::{Ctx, Planned, TypedProviderBuilder};
use serde::{Deserialize, Serialize};

use crate::error::classify;
use crate::provider::AwsState;
use crate::tags;

type Tags = BTreeMap<String, String>;

/// Registers every EC2 type.
pub(crate) fn register(b: TypedProviderBuilder<AwsState>) -> TypedProviderBuilder<AwsState> {
    b.resource::<Vpc>()
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
    /// User data (plain text; mkso encodes it). Always secret.
    #[mkso(replace, secret)]
    pub user_data: Option<String>,
    /// Check source/destination of traffic (default on; off for NAT instances).
    pub source_dest_check: Option<bool>,
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
    /// Its public IPv4 address, if any.
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

/// One provider call on one resource.
pub(crate) struct Call<'a> {
    pub p: &'a AwsState,
    pub c: &'a Client,
    pub identity: &'a ResourceIdentity,
}

impl<'a> Call<'a> {
    /// The call of a typed verb.
    pub(crate) async fn of(cx: &'a Ctx<'_, AwsState>) -> Call<'a> {
        Call {
            p: cx.provider,
            c: cx.provider.client().await,
            identity: cx.identity,
        }
    }

    /// Maps an SDK error of `op` on this resource.
    pub(crate) fn err<E>(&self, op: &'static str) -> impl FnOnce(SdkError<E>) -> ProviderError + '_
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        move |e| {
            tracing::debug!(op, urn = %self.identity.urn, "EC2 call failed");
            classify(
                e,
                &format!("{op} of `{}`", self.identity.name()),
                &self.p.endpoint,
            )
        }
    }

    /// The full tag set for this resource.
    pub(crate) fn tags(&self, own: &Tags) -> Tags {
        tags::full_tags(self.identity, &self.p.config.default_tags, own)
    }

    /// The resource's own tags from the cloud's full set.
    pub(crate) fn own_tags(&self, cloud: &[aws_sdk_ec2::types::Tag]) -> Tags {
        tags::own_tags(&tags::from_sdk(cloud), &self.p.config.default_tags)
    }

    /// A default physical name: `<stack>-<resource name>`, sanitised.
    pub(crate) fn default_name(&self) -> String {
        format!("{}-{}", self.identity.stack, self.identity.name())
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    }

    /// Keeps the cloud's tags equal to `want`, given what it has.
    pub(crate) async fn sync_tags(
        &self,
        id: &str,
        have: &Tags,
        want: &Tags,
    ) -> Result<(), ProviderError> {
        let set: Tags = want
            .iter()
            .filter(|(k, v)| have.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !set.is_empty() {
            self.c
                .create_tags()
                .resources(id)
                .set_tags(Some(tags::to_sdk(&set)))
                .send()
                .await
                .map_err(self.err("CreateTags"))?;
        }
        let remove: Vec<_> = have
            .keys()
            .filter(|k| !want.contains_key(*k) && !k.starts_with("aws:"))
            .map(|k| aws_sdk_ec2::types::Tag::builder().key(k).build())
            .collect();
        if !remove.is_empty() {
            self.c
                .delete_tags()
                .resources(id)
                .set_tags(Some(remove))
                .send()
                .await
                .map_err(self.err("DeleteTags"))?;
        }
        Ok(())
    }
}

/// `Ok(None)` when the resource is gone (for deletes: nothing left to do).
pub(crate) fn existing<T>(r: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.class == mkso::ErrorClass::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) fn not_found(what: &str, id: &str) -> ProviderError {
    ProviderError::not_found(format!("{what} {id} does not exist"))
}

/// A check failure when a known value is not an IPv4 CIDR block.
pub(crate) fn check_cidr(property: &str, v: &Planned<String>) -> Vec<(String, String)> {
    match v.known() {
        Some(s) if s.parse::<std::net::Ipv4Addr>().is_err() && !valid_cidr(s) => vec![(
            property.to_string(),
            format!("`{s}` is not an IPv4 CIDR block such as 10.0.0.0/16"),
        )],
        _ => Vec::new(),
    }
}

pub(crate) fn valid_cidr(s: &str) -> bool {
    let Some((ip, len)) = s.split_once('/') else {
        return false;
    };
    ip.parse::<std::net::Ipv4Addr>().is_ok() && len.parse::<u8>().is_ok_and(|l| l <= 32)
}
