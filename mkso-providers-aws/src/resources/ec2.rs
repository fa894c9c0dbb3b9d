//! The EC2 types (feature `ec2`, on `aws-sdk-ec2`): their inputs and
//! outputs; each one's behaviour is in the module named for what it owns
//! (`network`, `security`, `compute`, `ebs`, `egress`, `acl`, `template`,
//! `interface`).

use serde::{Deserialize, Serialize};

use super::Tags;

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

/// A VPC endpoint (`aws:ec2:VpcEndpoint`): a private path from a VPC to an
/// AWS service — `Gateway` (S3, DynamoDB: a route in each route table) or
/// `Interface` (a network interface in each subnet). Route tables, subnets,
/// security groups, policy and private DNS change in place; a new VPC,
/// service or type replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:ec2:VpcEndpoint", resource = VpcEndpoint, outputs = VpcEndpointOutputs)]
pub struct VpcEndpointInputs {
    /// The VPC.
    #[mkso(replace)]
    pub vpc_id: String,
    /// The service, e.g. `com.amazonaws.eu-west-1.s3`.
    #[mkso(replace)]
    pub service_name: String,
    /// `Gateway` (default), `Interface` or `GatewayLoadBalancer`.
    #[mkso(replace)]
    pub vpc_endpoint_type: Option<String>,
    /// The route tables that route to it (`Gateway`).
    #[serde(default)]
    pub route_table_ids: Vec<String>,
    /// The subnets it has a network interface in (`Interface`).
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    /// The security groups of its network interfaces (`Interface`; default:
    /// the VPC's default group).
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    /// An IAM policy document (JSON) limiting what passes through it
    /// (default: full access). Compared as JSON.
    pub policy: Option<String>,
    /// The service's own DNS names resolve to the endpoint in the VPC
    /// (`Interface`; AWS's default: on).
    pub private_dns_enabled: Option<bool>,
    /// The endpoint's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`VpcEndpoint`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = VpcEndpoint)]
pub struct VpcEndpointOutputs {
    /// Its id (`vpce-...`).
    pub id: String,
    /// Its DNS names (`Interface`).
    #[mkso(computed)]
    pub dns_names: Vec<String>,
    /// Its network interfaces (`Interface`: one per subnet).
    #[mkso(computed)]
    pub network_interface_ids: Vec<String>,
    /// The prefix list of the service's addresses (`Gateway`; empty else):
    /// what a security group rule names to let traffic to it out.
    pub prefix_list_id: String,
}

/// A VPC peering connection (`aws:ec2:VpcPeeringConnection`) from `vpc_id`
/// to `peer_vpc_id` (another account's with `peer_owner_id`, another
/// region's with `peer_region`). With `auto_accept` (same account and
/// region) it is accepted as it is created; else the other side accepts it
/// ([`VpcPeeringConnectionAccepter`]). DNS resolution across it changes in
/// place once active; anything else replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(
    type = "aws:ec2:VpcPeeringConnection",
    resource = VpcPeeringConnection,
    outputs = VpcPeeringConnectionOutputs
)]
pub struct VpcPeeringConnectionInputs {
    /// The requester's VPC.
    #[mkso(replace)]
    pub vpc_id: String,
    /// The accepter's VPC.
    #[mkso(replace)]
    pub peer_vpc_id: String,
    /// The accepter's account (default: this one).
    #[mkso(replace)]
    pub peer_owner_id: Option<String>,
    /// The accepter's region (default: this one).
    #[mkso(replace)]
    pub peer_region: Option<String>,
    /// Accept it as it is created (same account and region only).
    #[serde(default)]
    pub auto_accept: bool,
    /// The requester's instances resolve the accepter's private DNS names
    /// to private addresses (set once the connection is active).
    pub allow_remote_vpc_dns_resolution: Option<bool>,
    /// The connection's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`VpcPeeringConnection`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = VpcPeeringConnection)]
pub struct VpcPeeringConnectionOutputs {
    /// Its id (`pcx-...`).
    pub id: String,
    /// Its status: `pending-acceptance`, `active`, ...
    #[mkso(computed)]
    pub accept_status: String,
}

/// The accepter's side of a VPC peering connection
/// (`aws:ec2:VpcPeeringConnectionAccepter`): accepts the connection (in
/// the accepter's account and region: give it that provider). Its id is the
/// connection's; accepting one already active adopts it. Deleting it leaves
/// the connection to its requester.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(
    type = "aws:ec2:VpcPeeringConnectionAccepter",
    resource = VpcPeeringConnectionAccepter,
    outputs = VpcPeeringConnectionAccepterOutputs
)]
pub struct VpcPeeringConnectionAccepterInputs {
    /// The connection to accept (`pcx-...`).
    #[mkso(replace)]
    pub vpc_peering_connection_id: String,
}

/// Outputs of [`VpcPeeringConnectionAccepter`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = VpcPeeringConnectionAccepter)]
pub struct VpcPeeringConnectionAccepterOutputs {
    /// The connection's id.
    pub id: String,
    /// Its status (`active` once accepted).
    pub accept_status: String,
    /// The requester's VPC.
    pub vpc_id: String,
    /// The accepter's VPC.
    pub peer_vpc_id: String,
}

/// A placement group (`aws:ec2:PlacementGroup`): how EC2 places the
/// instances launched into it — `cluster` (close together), `spread`
/// (apart, on distinct racks or hosts) or `partition`. Named
/// `<stack>-<resource name>` unless `name` is set. Anything but its tags
/// replaces it (the old group goes first when the name stays).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "aws:ec2:PlacementGroup", resource = PlacementGroup, outputs = PlacementGroupOutputs)]
pub struct PlacementGroupInputs {
    /// Its name (default: `<stack>-<resource name>`).
    #[mkso(replace)]
    pub name: Option<String>,
    /// `cluster`, `spread` or `partition`.
    #[mkso(replace)]
    pub strategy: String,
    /// Partitions of a `partition` group (1 to 7; EC2's default 2).
    #[mkso(replace)]
    pub partition_count: Option<i32>,
    /// What a `spread` group spreads over: `rack` (default) or `host`.
    #[mkso(replace)]
    pub spread_level: Option<String>,
    /// The group's own tags.
    #[serde(default)]
    #[mkso(tags)]
    pub tags: Tags,
}

/// Outputs of [`PlacementGroup`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = PlacementGroup)]
pub struct PlacementGroupOutputs {
    /// Its id (`pg-...`).
    pub id: String,
    /// Its name (what an instance names).
    pub name: String,
    /// Its ARN.
    pub arn: String,
}
