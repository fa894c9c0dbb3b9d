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
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix  # noqa: E402


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

from moto.server import main  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", "moto_server")
    sys.exit(main())
