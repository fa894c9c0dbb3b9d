"""Starts gcplocal behaving like the real Compute Engine API where mkso's
tests depend on it, then runs gcplocal's own command line.

Stock gcplocal 0.1.0 differs from the real API in three ways this launcher
mends:

- Every Operation has an `id` of 8 hex characters (`str(uuid4())[:8]`); the
  real API sends a uint64 as a decimal string and the Rust client refuses
  hex. The `uuid` module `gcplocal.state` uses is replaced with one whose
  `uuid4()` is 8 decimal digits.
- Networks, subnetworks, instances and disks drop the `description` of the
  insert; the real API keeps it (mkso records a resource's owner there, and
  adopts an insert whose answer was lost by reading it back).
- A second insert of a name that exists overwrites the first; the real API
  answers 409 `alreadyExists` and keeps the first.
"""
import random
import sys

from flask import jsonify, request

import gcplocal.state
import gcplocal.services.compute.service as compute


class _DecimalUuid:
    @staticmethod
    def uuid4():
        return str(random.randint(10_000_000, 99_999_999))


gcplocal.state.uuid = _DecimalUuid()


def _like_the_real_api(create, collection):
    """Wraps a ComputeService insert: 409 `alreadyExists` for a name that
    exists, and the insert's `description` kept."""

    def insert(self, project, **scope):
        body = request.get_json(silent=True) or {}
        name = body.get("name")
        where = collection(**scope)
        if name and self.state.get(compute.SVC, project, where, name):
            message = f"The resource '{name}' already exists"
            return (
                jsonify(
                    {
                        "error": {
                            "code": 409,
                            "message": message,
                            "status": "ALREADY_EXISTS",
                            "errors": [
                                {"message": message, "domain": "global", "reason": "alreadyExists"}
                            ],
                        }
                    }
                ),
                409,
            )
        answer = create(self, project, **scope)
        if name and "description" in body:
            stored = self.state.get(compute.SVC, project, where, name)
            if stored is not None and stored.get("description") != body["description"]:
                stored["description"] = body["description"]
                self.state.put(compute.SVC, project, where, name, stored)
        return answer

    return insert


for _method, _collection in [
    ("create_network", lambda: "networks"),
    ("create_subnetwork", lambda region: f"subnetworks/{region}"),
    ("create_firewall", lambda: "firewalls"),
    ("create_instance", lambda zone: f"instances/{zone}"),
    ("create_disk", lambda zone: f"disks/{zone}"),
]:
    setattr(
        compute.ComputeService,
        _method,
        _like_the_real_api(getattr(compute.ComputeService, _method), _collection),
    )

from gcplocal.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = "gcplocal"
    sys.exit(main())
