//! The EC2 resource types, and dispatch of provider verbs by type token.

mod compute;
mod network;
mod security;

use std::collections::BTreeMap;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use mkso::ProviderError;
use mkso::provider::{
    CreateResponse, DiffRequest, DiffResponse, ReadResponse, ResourceIdentity, UpdateRequest,
    UpdateResponse, diff_inputs,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::classify;
use crate::provider::AwsProvider;
use crate::tags;

type Tags = BTreeMap<String, String>;

mkso::resource! {
    /// A VPC (`aws:ec2:Vpc`). Replaced when `cidr_block` changes.
    pub struct Vpc("aws:ec2:Vpc") {
        args VpcArgs => VpcInputs {
            /// The IPv4 range, e.g. `10.0.0.0/16`.
            cidr_block: String,
            /// Give instances DNS hostnames.
            enable_dns_hostnames: bool,
            /// Resolve DNS through the Amazon resolver (default on).
            enable_dns_support: Option<bool>,
            /// The resource's own tags.
            tags: BTreeMap<String, String>,
        }
        outputs VpcOutputs {
            /// The VPC id.
            id: String,
            /// The IPv4 range.
            cidr_block: String,
        }
    }
}

mkso::resource! {
    /// A subnet (`aws:ec2:Subnet`). Replaced when its VPC, range or zone changes.
    pub struct Subnet("aws:ec2:Subnet") {
        args SubnetArgs => SubnetInputs {
            /// The VPC.
            vpc_id: String,
            /// The IPv4 range, inside the VPC's.
            cidr_block: String,
            /// The availability zone (default: AWS chooses).
            availability_zone: Option<String>,
            /// Give instances launched here a public IP.
            map_public_ip_on_launch: bool,
            /// The resource's own tags.
            tags: BTreeMap<String, String>,
        }
        outputs SubnetOutputs {
            /// The subnet id.
            id: String,
            /// Its availability zone.
            availability_zone: String,
        }
    }
}

mkso::resource! {
    /// An internet gateway (`aws:ec2:InternetGateway`), attached to `vpc_id`
    /// when set (attachment changes in place).
    pub struct InternetGateway("aws:ec2:InternetGateway") {
        args InternetGatewayArgs => InternetGatewayInputs {
            /// The VPC to attach to.
            vpc_id: Option<String>,
            /// The resource's own tags.
            tags: BTreeMap<String, String>,
        }
        outputs InternetGatewayOutputs {
            /// The gateway id.
            id: String,
        }
    }
}

mkso::resource! {
    /// A route table (`aws:ec2:RouteTable`).
    pub struct RouteTable("aws:ec2:RouteTable") {
        args RouteTableArgs => RouteTableInputs {
            /// The VPC.
            vpc_id: String,
            /// The resource's own tags.
            tags: BTreeMap<String, String>,
        }
        outputs RouteTableOutputs {
            /// The route table id.
            id: String,
        }
    }
}

mkso::resource! {
    /// A route (`aws:ec2:Route`) to an internet or NAT gateway. Its id is
    /// `<route table id>_<destination>`.
    pub struct Route("aws:ec2:Route") {
        args RouteArgs => RouteInputs {
            /// The route table.
            route_table_id: String,
            /// The destination, e.g. `0.0.0.0/0`.
            destination_cidr_block: String,
            /// An internet gateway target.
            gateway_id: Option<String>,
            /// A NAT gateway target.
            nat_gateway_id: Option<String>,
        }
        outputs RouteOutputs {
            /// `<route table id>_<destination>`.
            id: String,
        }
    }
}

mkso::resource! {
    /// A route table's association with a subnet (`aws:ec2:RouteTableAssociation`).
    pub struct RouteTableAssociation("aws:ec2:RouteTableAssociation") {
        args RouteTableAssociationArgs => RouteTableAssociationInputs {
            /// The route table.
            route_table_id: String,
            /// The subnet.
            subnet_id: String,
        }
        outputs RouteTableAssociationOutputs {
            /// The association id.
            id: String,
        }
    }
}

mkso::resource! {
    /// A security group (`aws:ec2:SecurityGroup`); its rules are
    /// [`SecurityGroupRule`]s. Replaced when name, description or VPC change.
    pub struct SecurityGroup("aws:ec2:SecurityGroup") {
        args SecurityGroupArgs => SecurityGroupInputs {
            /// The group name (default: `<stack>-<resource name>`).
            name: Option<String>,
            /// The description (required by EC2; default: "managed by mkso").
            description: Option<String>,
            /// The VPC.
            vpc_id: String,
            /// The resource's own tags.
            tags: BTreeMap<String, String>,
        }
        outputs SecurityGroupOutputs {
            /// The group id.
            id: String,
            /// The group name.
            name: String,
        }
    }
}

mkso::resource! {
    /// One ingress or egress rule of a security group (`aws:ec2:SecurityGroupRule`).
    pub struct SecurityGroupRule("aws:ec2:SecurityGroupRule") {
        args SecurityGroupRuleArgs => SecurityGroupRuleInputs {
            /// The group.
            security_group_id: String,
            /// `ingress` or `egress`.
            direction: String,
            /// `tcp`, `udp`, `icmp` or `-1` (all).
            protocol: String,
            /// First port.
            from_port: i32,
            /// Last port.
            to_port: i32,
            /// IPv4 ranges.
            cidr_blocks: Vec<String>,
            /// Another group as the source (ingress) or destination (egress).
            source_security_group_id: Option<String>,
            /// A description.
            description: Option<String>,
        }
        outputs SecurityGroupRuleOutputs {
            /// The rule id (`sgr-...`).
            id: String,
        }
    }
}

mkso::resource! {
    /// An EC2 instance (`aws:ec2:Instance`). Tags, security groups and
    /// `source_dest_check` change in place; image, type, subnet, key and user
    /// data replace it.
    pub struct Instance("aws:ec2:Instance") {
        args InstanceArgs => InstanceInputs {
            /// The AMI id.
            ami: String,
            /// The instance type, e.g. `t3.micro`.
            instance_type: String,
            /// The subnet.
            subnet_id: Option<String>,
            /// Security groups.
            security_group_ids: Vec<String>,
            /// A key pair's name.
            key_name: Option<String>,
            /// User data (plain text; mkso encodes it).
            user_data: Option<String>,
            /// Check source/destination of traffic (default on; off for NAT instances).
            source_dest_check: Option<bool>,
            /// The resource's own tags.
            tags: BTreeMap<String, String>,
        }
        outputs InstanceOutputs {
            /// The instance id.
            id: String,
            /// Its private IPv4 address.
            private_ip: Option<String>,
            /// Its public IPv4 address, if any.
            public_ip: Option<String>,
            /// Its availability zone.
            availability_zone: Option<String>,
        }
    }
}

mkso::resource! {
    /// An Elastic IP (`aws:ec2:Eip`), optionally associated with an instance
    /// (the association changes in place).
    pub struct Eip("aws:ec2:Eip") {
        args EipArgs => EipInputs {
            /// The instance to associate with.
            instance_id: Option<String>,
            /// The resource's own tags.
            tags: BTreeMap<String, String>,
        }
        outputs EipOutputs {
            /// The allocation id.
            id: String,
            /// The public IPv4 address.
            public_ip: String,
            /// The association id, when associated.
            association_id: Option<String>,
        }
    }
}

mkso::resource! {
    /// A NAT gateway (`aws:ec2:NatGateway`) in a public subnet with an EIP.
    pub struct NatGateway("aws:ec2:NatGateway") {
        args NatGatewayArgs => NatGatewayInputs {
            /// The (public) subnet.
            subnet_id: String,
            /// The EIP's allocation id.
            allocation_id: String,
            /// The resource's own tags.
            tags: BTreeMap<String, String>,
        }
        outputs NatGatewayOutputs {
            /// The NAT gateway id.
            id: String,
        }
    }
}

mkso::resource! {
    /// A key pair imported from a public key (`aws:ec2:KeyPair`).
    pub struct KeyPair("aws:ec2:KeyPair") {
        args KeyPairArgs => KeyPairInputs {
            /// The key name (default: `<stack>-<resource name>`).
            key_name: Option<String>,
            /// The public key (OpenSSH format).
            public_key: String,
            /// The resource's own tags.
            tags: BTreeMap<String, String>,
        }
        outputs KeyPairOutputs {
            /// The key pair id.
            id: String,
            /// The key name.
            key_name: String,
            /// The fingerprint.
            fingerprint: Option<String>,
        }
    }
}

/// One provider call on one resource.
pub(crate) struct Call<'a> {
    pub p: &'a AwsProvider,
    pub c: &'a Client,
    pub identity: &'a ResourceIdentity,
}

impl<'a> Call<'a> {
    pub(crate) fn new(p: &'a AwsProvider, c: &'a Client, identity: &'a ResourceIdentity) -> Self {
        Call { p, c, identity }
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

/// Reads typed inputs.
pub(crate) fn parse<T: DeserializeOwned>(v: &Value, type_token: &str) -> Result<T, ProviderError> {
    serde_json::from_value(v.clone())
        .map_err(|e| ProviderError::permanent(format!("inputs of {type_token} do not fit: {e}")))
}

/// The inputs as the cloud has them: the recorded ones with `fields` replaced.
pub(crate) fn with_fields(recorded: &Value, fields: Value) -> Value {
    let mut out = recorded.as_object().cloned().unwrap_or_default();
    if let Value::Object(f) = fields {
        for (k, v) in f {
            out.insert(k, v);
        }
    }
    Value::Object(out)
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

/// Properties whose change replaces the resource.
fn replace_keys(type_token: &str) -> &'static [&'static str] {
    match type_token {
        Vpc::TYPE => &["cidr_block"],
        Subnet::TYPE => &["vpc_id", "cidr_block", "availability_zone"],
        InternetGateway::TYPE => &[],
        RouteTable::TYPE => &["vpc_id"],
        Route::TYPE => &["route_table_id", "destination_cidr_block"],
        RouteTableAssociation::TYPE => &["route_table_id", "subnet_id"],
        SecurityGroup::TYPE => &["name", "description", "vpc_id"],
        SecurityGroupRule::TYPE => &[
            "security_group_id",
            "direction",
            "protocol",
            "from_port",
            "to_port",
            "cidr_blocks",
            "source_security_group_id",
            "description",
        ],
        Instance::TYPE => &["ami", "instance_type", "subnet_id", "key_name", "user_data"],
        Eip::TYPE => &[],
        NatGateway::TYPE => &["subnet_id", "allocation_id"],
        KeyPair::TYPE => &["key_name", "public_key"],
        _ => &[],
    }
}

fn unknown_type(t: &str) -> ProviderError {
    ProviderError::permanent(format!("the aws provider has no resource type `{t}`"))
}

pub(crate) fn diff(req: &DiffRequest) -> Result<DiffResponse, ProviderError> {
    let t = req.identity.type_token.as_str();
    let keys = replace_keys(t);
    let mut d = diff_inputs(&req.old_inputs, &req.new_inputs, keys);
    if d.replace.is_empty() {
        // In-place changes keep the id and the computed outputs.
        d.planned_outputs = Some(req.old_outputs.clone());
    }
    Ok(d)
}

/// Validates inputs before anything is called (CIDRs, directions, ports).
pub(crate) fn check(type_token: &str, inputs: &Value) -> Vec<(String, String)> {
    let mut f = Vec::new();
    let cidr = |k: &str, f: &mut Vec<(String, String)>| {
        if let Some(s) = inputs.get(k).and_then(Value::as_str)
            && s != mkso::output::UNKNOWN
            && s.parse::<std::net::Ipv4Addr>().is_err()
            && !valid_cidr(s)
        {
            f.push((
                k.to_string(),
                format!("`{s}` is not an IPv4 CIDR block such as 10.0.0.0/16"),
            ));
        }
    };
    match type_token {
        Vpc::TYPE | Subnet::TYPE => cidr("cidr_block", &mut f),
        Route::TYPE => {
            cidr("destination_cidr_block", &mut f);
            let gw = inputs.get("gateway_id").is_some_and(|v| !v.is_null());
            let nat = inputs.get("nat_gateway_id").is_some_and(|v| !v.is_null());
            if gw == nat {
                f.push((
                    "gateway_id".into(),
                    "set exactly one of gateway_id and nat_gateway_id".into(),
                ));
            }
        }
        SecurityGroupRule::TYPE => {
            match inputs.get("direction").and_then(Value::as_str) {
                Some("ingress") | Some("egress") | Some(mkso::output::UNKNOWN) => {}
                other => f.push((
                    "direction".into(),
                    format!("{other:?} is not `ingress` or `egress`"),
                )),
            }
            if let Some(blocks) = inputs.get("cidr_blocks").and_then(Value::as_array) {
                for b in blocks.iter().filter_map(Value::as_str) {
                    if b != mkso::output::UNKNOWN && !valid_cidr(b) {
                        f.push((
                            "cidr_blocks".into(),
                            format!("`{b}` is not an IPv4 CIDR block"),
                        ));
                    }
                }
            }
        }
        _ => {}
    }
    f
}

fn valid_cidr(s: &str) -> bool {
    let Some((ip, len)) = s.split_once('/') else {
        return false;
    };
    ip.parse::<std::net::Ipv4Addr>().is_ok() && len.parse::<u8>().is_ok_and(|l| l <= 32)
}

pub(crate) async fn create(
    call: &Call<'_>,
    inputs: &Value,
) -> Result<CreateResponse, ProviderError> {
    match call.identity.type_token.as_str() {
        Vpc::TYPE => network::create_vpc(call, parse(inputs, Vpc::TYPE)?).await,
        Subnet::TYPE => network::create_subnet(call, parse(inputs, Subnet::TYPE)?).await,
        InternetGateway::TYPE => {
            network::create_igw(call, parse(inputs, InternetGateway::TYPE)?).await
        }
        RouteTable::TYPE => {
            network::create_route_table(call, parse(inputs, RouteTable::TYPE)?).await
        }
        Route::TYPE => network::create_route(call, parse(inputs, Route::TYPE)?).await,
        RouteTableAssociation::TYPE => {
            network::create_association(call, parse(inputs, RouteTableAssociation::TYPE)?).await
        }
        SecurityGroup::TYPE => {
            security::create_group(call, parse(inputs, SecurityGroup::TYPE)?).await
        }
        SecurityGroupRule::TYPE => {
            security::create_rule(call, parse(inputs, SecurityGroupRule::TYPE)?).await
        }
        Instance::TYPE => compute::create_instance(call, parse(inputs, Instance::TYPE)?).await,
        Eip::TYPE => compute::create_eip(call, parse(inputs, Eip::TYPE)?).await,
        NatGateway::TYPE => compute::create_nat(call, parse(inputs, NatGateway::TYPE)?).await,
        KeyPair::TYPE => compute::create_key_pair(call, parse(inputs, KeyPair::TYPE)?).await,
        t => Err(unknown_type(t)),
    }
}

pub(crate) async fn find(
    call: &Call<'_>,
    inputs: &Value,
) -> Result<Option<CreateResponse>, ProviderError> {
    match call.identity.type_token.as_str() {
        Vpc::TYPE => network::find_vpc(call).await,
        Subnet::TYPE => network::find_subnet(call).await,
        InternetGateway::TYPE => network::find_igw(call).await,
        RouteTable::TYPE => network::find_route_table(call).await,
        Route::TYPE => network::find_route(call, parse(inputs, Route::TYPE)?).await,
        RouteTableAssociation::TYPE => {
            network::find_association(call, parse(inputs, RouteTableAssociation::TYPE)?).await
        }
        SecurityGroup::TYPE => security::find_group(call).await,
        SecurityGroupRule::TYPE => security::find_rule(call).await,
        Instance::TYPE => compute::find_instance(call).await,
        Eip::TYPE => compute::find_eip(call).await,
        NatGateway::TYPE => compute::find_nat(call).await,
        KeyPair::TYPE => compute::find_key_pair(call).await,
        t => Err(unknown_type(t)),
    }
}

pub(crate) async fn read(
    call: &Call<'_>,
    id: &str,
    recorded: &Value,
) -> Result<ReadResponse, ProviderError> {
    match call.identity.type_token.as_str() {
        Vpc::TYPE => network::read_vpc(call, id, recorded).await,
        Subnet::TYPE => network::read_subnet(call, id, recorded).await,
        InternetGateway::TYPE => network::read_igw(call, id, recorded).await,
        RouteTable::TYPE => network::read_route_table(call, id, recorded).await,
        Route::TYPE => network::read_route(call, id, recorded).await,
        RouteTableAssociation::TYPE => network::read_association(call, id, recorded).await,
        SecurityGroup::TYPE => security::read_group(call, id, recorded).await,
        SecurityGroupRule::TYPE => security::read_rule(call, id, recorded).await,
        Instance::TYPE => compute::read_instance(call, id, recorded).await,
        Eip::TYPE => compute::read_eip(call, id, recorded).await,
        NatGateway::TYPE => compute::read_nat(call, id, recorded).await,
        KeyPair::TYPE => compute::read_key_pair(call, id, recorded).await,
        t => Err(unknown_type(t)),
    }
}

pub(crate) async fn update(
    call: &Call<'_>,
    req: &UpdateRequest,
) -> Result<UpdateResponse, ProviderError> {
    let t = req.identity.type_token.as_str();
    let outputs = match t {
        Vpc::TYPE => {
            network::update_vpc(
                call,
                req,
                parse(&req.old_inputs, t)?,
                parse(&req.new_inputs, t)?,
            )
            .await?
        }
        Subnet::TYPE => {
            network::update_subnet(
                call,
                req,
                parse(&req.old_inputs, t)?,
                parse(&req.new_inputs, t)?,
            )
            .await?
        }
        InternetGateway::TYPE => {
            network::update_igw(
                call,
                req,
                parse(&req.old_inputs, t)?,
                parse(&req.new_inputs, t)?,
            )
            .await?
        }
        RouteTable::TYPE => {
            let (o, n): (RouteTableInputs, RouteTableInputs) =
                (parse(&req.old_inputs, t)?, parse(&req.new_inputs, t)?);
            call.sync_tags(&req.id, &call.tags(&o.tags), &call.tags(&n.tags))
                .await?;
            req.old_outputs.clone()
        }
        Route::TYPE => network::update_route(call, req, parse(&req.new_inputs, t)?).await?,
        SecurityGroup::TYPE => {
            let (o, n): (SecurityGroupInputs, SecurityGroupInputs) =
                (parse(&req.old_inputs, t)?, parse(&req.new_inputs, t)?);
            call.sync_tags(&req.id, &call.tags(&o.tags), &call.tags(&n.tags))
                .await?;
            req.old_outputs.clone()
        }
        Instance::TYPE => {
            compute::update_instance(
                call,
                req,
                parse(&req.old_inputs, t)?,
                parse(&req.new_inputs, t)?,
            )
            .await?
        }
        Eip::TYPE => {
            compute::update_eip(
                call,
                req,
                parse(&req.old_inputs, t)?,
                parse(&req.new_inputs, t)?,
            )
            .await?
        }
        NatGateway::TYPE => {
            let (o, n): (NatGatewayInputs, NatGatewayInputs) =
                (parse(&req.old_inputs, t)?, parse(&req.new_inputs, t)?);
            call.sync_tags(&req.id, &call.tags(&o.tags), &call.tags(&n.tags))
                .await?;
            req.old_outputs.clone()
        }
        KeyPair::TYPE => {
            let (o, n): (KeyPairInputs, KeyPairInputs) =
                (parse(&req.old_inputs, t)?, parse(&req.new_inputs, t)?);
            call.sync_tags(&req.id, &call.tags(&o.tags), &call.tags(&n.tags))
                .await?;
            req.old_outputs.clone()
        }
        RouteTableAssociation::TYPE | SecurityGroupRule::TYPE => req.old_outputs.clone(),
        t => return Err(unknown_type(t)),
    };
    Ok(UpdateResponse { outputs })
}

pub(crate) async fn delete(call: &Call<'_>, id: &str, inputs: &Value) -> Result<(), ProviderError> {
    match call.identity.type_token.as_str() {
        Vpc::TYPE => network::delete_vpc(call, id).await,
        Subnet::TYPE => network::delete_subnet(call, id).await,
        InternetGateway::TYPE => network::delete_igw(call, id).await,
        RouteTable::TYPE => network::delete_route_table(call, id).await,
        Route::TYPE => network::delete_route(call, id).await,
        RouteTableAssociation::TYPE => network::delete_association(call, id).await,
        SecurityGroup::TYPE => security::delete_group(call, id).await,
        SecurityGroupRule::TYPE => {
            security::delete_rule(call, id, parse(inputs, SecurityGroupRule::TYPE)?).await
        }
        Instance::TYPE => compute::delete_instance(call, id).await,
        Eip::TYPE => compute::delete_eip(call, id).await,
        NatGateway::TYPE => compute::delete_nat(call, id).await,
        KeyPair::TYPE => compute::delete_key_pair(call, id).await,
        t => Err(unknown_type(t)),
    }
}
