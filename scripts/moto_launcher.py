"""Starts moto's server behaving like the real EC2 API where mkso's tests
depend on it, then runs moto's own command line.

moto 5.2.5 differs from EC2 in one way this launcher mends: deleting a NAT
gateway leaves its Elastic IP associated (with the gateway's network
interface) for good, so a new NAT gateway on that address is refused with
`Resource.AlreadyAssociated`. EC2 disassociates the address and deletes the
interface once the gateway is deleted. (An update interrupted between the
delete of NAT gateways and the release of their addresses, then run again,
meets exactly that.)

It also makes reading one resource's tags a lookup instead of a scan: moto
5.2.5 finds a resource's tags by matching every tag in the region against
its id (a regular expression per tag), so a `Describe*` filtered by tag costs
O(resources x tags) and 1 000 creates with their adoption checks take tens of
minutes; EC2 answers such a filter in constant time. Same answers, same
order.

And S3's GetBucketVersioning answers as S3 does: moto 5.2.5 wraps the
status in a `GetBucketVersioningResponse` element, which no S3 client reads
(S3's answer is a `VersioningConfiguration`).

And RDS's ModifyDBSubnetGroup keeps the group: moto 5.2.5 takes it out of
the region to change it and never puts it back, so the group is gone after
its first change.

And Route 53's ChangeResourceRecordSets decides whether a CREATE meets an
existing record as Route 53 does, by the record's name and type: moto 5.2.5
refuses a CREATE identical to an earlier one whenever any record sorts after
that name (so a record deleted and created again with the same values is
refused), and lets a CREATE of an existing record with other values through
(a duplicate).

And a launch template's new version keeps its user data as EC2 does: moto
5.2.5 decodes it for a template's first version only, so an Auto Scaling
group launching from a later version with user data fails (HTTP 500).

And ModifyVpcEndpoint routes a gateway endpoint as EC2 does: moto 5.2.5
changes the endpoint's route tables without adding or removing the route to
the service's prefix list, so the delete of an endpoint given a route table
later fails (`InvalidRoute.NotFound`) and a table taken from it keeps its
route.

And EC2's placement groups, which moto 5.2.5 does not serve at all:
CreatePlacementGroup, DescribePlacementGroups and DeletePlacementGroup as
the EC2 API reference gives them (strategy `cluster`, `spread` or
`partition`; a duplicate name is `InvalidPlacementGroup.Duplicate`, an
unknown one `InvalidPlacementGroup.Unknown`; filters `group-name`,
`group-id`, `strategy`, `state`, `tag:<key>`, `tag-key`), tagged through
moto's own tag store so CreateTags and DeleteTags work on them.
"""
import re
import sys

from moto.ec2.models.nat_gateways import NatGatewayBackend

_delete_nat_gateway = NatGatewayBackend.delete_nat_gateway


def _delete_nat_gateway_like_ec2(self, nat_gateway_id):
    nat_gw = _delete_nat_gateway(self, nat_gateway_id)
    for address in nat_gw.address_set:
        association = address.get("associationId")
        if association and any(a.association_id == association for a in self.addresses):
            self.disassociate_address(association_id=association)
    eni = getattr(nat_gw, "_eni", None)
    if eni is not None and eni.id in self.enis:
        self.delete_network_interface(eni.id)
    return nat_gw


NatGatewayBackend.delete_nat_gateway = _delete_nat_gateway_like_ec2


from moto.ec2.models.core import TaggedEC2Resource  # noqa: E402
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, EC2_RESOURCE_TO_PREFIX, get_prefix  # noqa: E402


def _get_tags_by_lookup(self):
    resource_id = self.id
    if not resource_id:
        return []
    tags = self.ec2_backend.tags.get(resource_id) or {}
    resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(resource_id), "")
    return [
        {"resource_id": resource_id, "key": k, "value": v, "resource_type": resource_type}
        for k, v in list(tags.items())
    ]


TaggedEC2Resource.get_tags = _get_tags_by_lookup


from moto.s3.responses import S3Response  # noqa: E402


def _get_bucket_versioning_like_s3(self):
    versioning = self.backend.get_bucket_versioning(self.bucket_name)
    status = f"<Status>{versioning}</Status>" if versioning else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"{status}</VersioningConfiguration>"
    )
    return 200, {"Content-Type": "application/xml"}, body


S3Response.get_bucket_versioning = _get_bucket_versioning_like_s3

from moto.rds.models import RDSBackend  # noqa: E402

_modify_db_subnet_group = RDSBackend.modify_db_subnet_group


def _modify_db_subnet_group_keeping_it(self, subnet_name, description, subnets):
    group = _modify_db_subnet_group(self, subnet_name, description, subnets)
    self.subnet_groups[subnet_name] = group
    return group


RDSBackend.modify_db_subnet_group = _modify_db_subnet_group_keeping_it

from moto.route53.exceptions import ResourceRecordAlreadyExists  # noqa: E402
from moto.route53.models import Route53Backend  # noqa: E402

_change_resource_record_sets = Route53Backend.change_resource_record_sets


def _change_resource_record_sets_like_route53(self, zoneid, change_list):
    zone = self.get_hosted_zone(zoneid)

    def key(name, type_):
        return (name.rstrip(".").lower(), type_)

    existing = {key(r.name, r.type) for r in zone.rrsets}
    for change in change_list:
        if change["Action"] != "CREATE":
            continue
        rrset = change["ResourceRecordSet"]
        if key(rrset["Name"], rrset["Type"]) in existing:
            raise ResourceRecordAlreadyExists(
                name=rrset["Name"].rstrip(".") + ".", _type=rrset["Type"]
            )
        # Known not to exist: an upsert creates it, past moto's check.
        change["Action"] = "UPSERT"
    return _change_resource_record_sets(self, zoneid, change_list)


Route53Backend.change_resource_record_sets = _change_resource_record_sets_like_route53

from moto.ec2.models.launch_templates import LaunchTemplate  # noqa: E402
from moto.ec2.utils import parse_user_data  # noqa: E402

_create_version = LaunchTemplate.create_version


def _create_version_with_user_data(self, data, description):
    if isinstance(data.get("UserData"), str):
        data = dict(data, UserData=parse_user_data(data["UserData"]))
    return _create_version(self, data, description)


LaunchTemplate.create_version = _create_version_with_user_data

from moto.ec2.models.vpcs import VPCBackend  # noqa: E402

_modify_vpc_endpoint = VPCBackend.modify_vpc_endpoint


def _modify_vpc_endpoint_with_routes(self, vpc_id, **changes):
    endpoint = self.describe_vpc_endpoints(vpc_end_point_ids=[vpc_id])[0]
    prefix_list = endpoint.destination_prefix_list_id
    if prefix_list:
        for table in changes.get("add_route_tables") or []:
            if table not in endpoint.route_table_ids:
                self.create_route(
                    table, None, gateway_id=endpoint.id, destination_prefix_list_id=prefix_list
                )
        for table in changes.get("remove_route_tables") or []:
            if table in endpoint.route_table_ids:
                self.delete_route(table, prefix_list)
    return _modify_vpc_endpoint(self, vpc_id=vpc_id, **changes)


VPCBackend.modify_vpc_endpoint = _modify_vpc_endpoint_with_routes

import secrets  # noqa: E402

from moto.core.responses import ActionResult  # noqa: E402
from moto.ec2.exceptions import EC2ClientError  # noqa: E402
from moto.ec2.responses import EC2Response  # noqa: E402


def _placement_groups(backend):
    return backend.__dict__.setdefault("_placement_groups", {})


def _placement_group_shape(backend, group):
    tags = backend.tags.get(group["GroupId"]) or {}
    shape = {k: v for k, v in group.items() if v is not None}
    shape["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return shape


def _unknown_placement_group(name):
    return EC2ClientError("InvalidPlacementGroup.Unknown", f"The Placement Group '{name}' is unknown.")


def _create_placement_group(self):
    name = self._get_param("GroupName")
    strategy = self._get_param("Strategy")
    groups = _placement_groups(self.ec2_backend)
    if not name:
        raise EC2ClientError("MissingParameter", "The request must contain the parameter groupName")
    if strategy not in ("cluster", "spread", "partition"):
        raise EC2ClientError(
            "InvalidParameterValue", f"Value ({strategy}) for parameter strategy is invalid."
        )
    if name in groups:
        raise EC2ClientError(
            "InvalidPlacementGroup.Duplicate", f"The Placement Group '{name}' already exists."
        )
    partitions = self._get_param("PartitionCount")
    if partitions is not None and strategy != "partition":
        raise EC2ClientError(
            "InvalidParameterCombination", "Partition count is only valid for partition groups."
        )
    group_id = "pg-" + secrets.token_hex(9)[:17]
    group = {
        "GroupName": name,
        "GroupId": group_id,
        "GroupArn": f"arn:aws:ec2:{self.region}:{self.current_account}:placement-group/{name}",
        "Strategy": strategy,
        "State": "available",
        "PartitionCount": int(partitions or 2) if strategy == "partition" else None,
        "SpreadLevel": (self._get_param("SpreadLevel") or "rack") if strategy == "spread" else None,
    }
    tags = self._parse_tag_specification().get("placement-group", {})
    if tags:
        self.ec2_backend.create_tags([group_id], tags)
    groups[name] = group
    return ActionResult({"PlacementGroup": _placement_group_shape(self.ec2_backend, group)})


def _describe_placement_groups(self):
    groups = list(_placement_groups(self.ec2_backend).values())
    names = self._get_param("GroupNames", [])
    ids = self._get_param("GroupIds", [])
    for name in names:
        if not any(g["GroupName"] == name for g in groups):
            raise _unknown_placement_group(name)
    for group_id in ids:
        if not any(g["GroupId"] == group_id for g in groups):
            raise _unknown_placement_group(group_id)
    if names:
        groups = [g for g in groups if g["GroupName"] in names]
    if ids:
        groups = [g for g in groups if g["GroupId"] in ids]
    for key, values in self._filters_from_querystring().items():
        fields = {"group-name": "GroupName", "group-id": "GroupId", "strategy": "Strategy", "state": "State"}

        def matches(g, key=key, values=values):
            tags = self.ec2_backend.tags.get(g["GroupId"]) or {}
            if key in fields:
                return g[fields[key]] in values
            if key.startswith("tag:"):
                return tags.get(key[4:]) in values
            if key == "tag-key":
                return any(k in values for k in tags)
            raise EC2ClientError("InvalidParameterValue", f"The filter '{key}' is invalid")

        groups = [g for g in groups if matches(g)]
    return ActionResult(
        {"PlacementGroups": [_placement_group_shape(self.ec2_backend, g) for g in groups]}
    )


def _delete_placement_group(self):
    name = self._get_param("GroupName")
    groups = _placement_groups(self.ec2_backend)
    group = groups.pop(name, None)
    if group is None:
        raise _unknown_placement_group(name)
    self.ec2_backend.tags.pop(group["GroupId"], None)
    return ActionResult({})


# Their ids (`pg-...`) are EC2 resource ids to CreateTags and DeleteTags.
EC2_RESOURCE_TO_PREFIX["placement-group"] = "pg"
EC2_PREFIX_TO_RESOURCE["pg"] = "placement-group"
EC2Response.create_placement_group = _create_placement_group
EC2Response.describe_placement_groups = _describe_placement_groups
EC2Response.delete_placement_group = _delete_placement_group

from moto.server import main  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", "moto_server")
    sys.exit(main())
