"""Starts gcplocal with decimal operation ids.

Stock gcplocal 0.1.0 gives every Operation an `id` of 8 hex characters
(`str(uuid4())[:8]`); the real API sends a uint64 as a decimal string and the
Rust client refuses hex. This launcher replaces the `uuid` module that
`gcplocal.state` uses with one whose `uuid4()` is 8 decimal digits, then runs
gcplocal's own command line.
"""
import random
import sys

import gcplocal.state


class _DecimalUuid:
    @staticmethod
    def uuid4():
        return str(random.randint(10_000_000, 99_999_999))


gcplocal.state.uuid = _DecimalUuid()

from gcplocal.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = "gcplocal"
    sys.exit(main())
