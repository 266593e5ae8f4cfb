#!/usr/bin/env python3
"""The fakes answer as the real services do: drive `boxoffice sandbox` with the providers'
own client libraries and check every call boxoffice makes, the common calls an owner's
script makes, and each injectable fault as the client sees it.

Usage: contract.py PATH/TO/boxoffice [--only SUBSTRING ...] [--report results.json]

Prints one line per step, the call, the real behaviour and its source for each failure, and
"N steps passed" at the end. Exits 1 if any step failed. Run it through contract/run.sh,
which installs the pinned client libraries first.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import steps_plex_tv  # noqa: E402,F401
import steps_pms  # noqa: E402,F401
import steps_jellyfin  # noqa: E402,F401
import steps_emby  # noqa: E402,F401
import steps_faults  # noqa: E402,F401
import steps_payments  # noqa: E402,F401


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("binary")
    p.add_argument("--only", nargs="*", help="run only steps whose name contains one of these")
    p.add_argument("--report", help="write every step's result to this JSON file")
    p.add_argument("--log", default=os.environ.get("CONTRACT_SANDBOX_LOG", "contract-sandbox.log"),
                   help="where the sandbox's standard error goes")
    a = p.parse_args()
    import importlib.metadata as md

    versions = ", ".join(f"{d} {md.version(d)}" for d in ("PlexAPI", "jellyfin-apiclient-python", "stripe", "paypal-server-sdk", "plisio", "requests"))
    print(f"clients: {versions}; python {sys.version.split()[0]}")
    return harness.run(a.binary, a.log, only=a.only, report=a.report)


if __name__ == "__main__":
    sys.exit(main())
