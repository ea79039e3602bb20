"""`imgtools profiles`: the built-in platform profiles, and the schema of a profile file."""

from __future__ import annotations

import argparse

from .output import print_json

DESCRIPTION = """\
List the built-in platform profiles: name, what they extend, the platform and
the image format 'prepare' writes for it, and how many checks they run.  A
profile of your own is a YAML file that usually starts with 'extends: NAME'
and changes severities or parameters; --schema prints the JSON schema it is
validated against.
"""

EPILOG = """\
a profile of your own (mine.yaml), used as 'imgtools check --profile mine.yaml IMAGE':
  description: our Huawei Cloud tenants
  extends: huaweicloud
  checks:
    IMG-DRV-002: false                 # no Xen flavors: drop the check
    IMG-SW-001: error                  # cloud-init is mandatory here
    IMG-IMG-002:
      params: {max_file_size: 64GiB}
"""


def register(sub) -> None:
    parser = sub.add_parser(
        "profiles",
        help="list the built-in platform profiles (or print the profile schema)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.add_argument("--schema", action="store_true", help="print the JSON schema of a profile file")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..profiles import DEFAULT_PROFILE, list_profiles, profile_schema

    if args.schema:
        print_json(profile_schema())
        return 0
    rows = [
        {
            "name": p.name,
            "description": p.description,
            "extends": p.extends[0] if p.extends else None,
            "platform": p.platform,
            "preferred_format": p.preferred_format,
            "subformat": p.output.subformat,
            "checks": len(p.checks),
            "default": p.name == DEFAULT_PROFILE,
            "source": p.source,
        }
        for p in list_profiles()
    ]
    if args.json:
        print_json(rows)
        return 0
    print(f"{'NAME':<13} {'EXTENDS':<8} {'FORMAT':<22} {'CHECKS':>6}  DESCRIPTION")
    for row in rows:
        fmt = row["preferred_format"] or "-"
        if row["subformat"]:
            fmt += f" ({row['subformat']})"
        name = row["name"] + (" *" if row["default"] else "")
        print(f"{name:<13} {row['extends'] or '-':<8} {fmt:<22} {row['checks']:>6}  {row['description']}")
    print("\n* the default profile")
    return 0
