"""`imgtools explain`: everything about one check, or the list of all checks."""

from __future__ import annotations

import argparse
import json
import textwrap

from ..errors import UsageError
from .output import print_json

DESCRIPTION = """\
Explain a check: why it matters, what it looks at, its parameters and their
defaults, the fix for each guest family, the platform documentation, and the
severity each built-in profile gives it.  Without ID, list every check.
"""

EPILOG = """\
examples:
  imgtools explain IMG-DRV-001
  imgtools explain virtio-drivers
  imgtools explain            # every check, one a line
"""


def register(sub) -> None:
    parser = sub.add_parser(
        "explain",
        help="explain a check (id or slug): rationale, parameters, fixes, docs; without ID list all",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("check", metavar="ID", nargs="?", help="check id (IMG-DRV-001) or slug (virtio-drivers)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def describe(check) -> dict:
    """The check as data, with the built-in profiles that select it."""
    from ..profiles import list_profiles

    return {
        "id": check.id,
        "slug": check.slug,
        "title": check.title,
        "default_severity": check.default_severity,
        "applies_to": check.applies_to,
        "rationale": check.rationale,
        "params": {name: {"default": p.default, "help": p.help} for name, p in check.params.items()},
        "remediation": dict(check.remediation),
        "docs": check.docs,
        "profiles": {p.name: p.checks[check.id].severity for p in list_profiles() if check.id in p.checks},
    }


def render(info: dict) -> str:
    lines = [
        f"{info['id']}  {info['slug']}",
        info["title"],
        "",
        f"default severity: {info['default_severity']}    applies to: {info['applies_to']}",
        "",
        "why:",
        textwrap.indent(textwrap.fill(info["rationale"], 76), "  "),
    ]
    if info["params"]:
        lines += ["", "parameters (set them in a profile under checks: ID: params:):"]
        for name, param in info["params"].items():
            lines.append(f"  {name} = {json.dumps(param['default'])}")
            lines.append(f"      {param['help']}")
    lines += ["", "fix:"]
    for family, fix in info["remediation"].items():
        lines.append(f"  {family}:")
        lines.append(textwrap.indent(fix, "    "))
    lines += ["", f"docs: {info['docs']}"]
    selected = ", ".join(f"{name} ({severity})" for name, severity in info["profiles"].items()) or "none"
    lines.append(f"built-in profiles: {selected}")
    return "\n".join(lines)


def run(args) -> int:
    from ..checks.registry import CHECKS, get_check

    if args.check is None:
        if args.json:
            print_json([{"id": c.id, "slug": c.slug, "severity": c.default_severity, "title": c.title}
                        for c in CHECKS.values()])
        else:
            for c in CHECKS.values():
                print(f"{c.id:<13} {c.default_severity:<8} {c.slug:<28} {c.title}")
        return 0
    check = get_check(args.check)
    if check is None:
        raise UsageError(f"no check {args.check!r}; 'imgtools explain' lists them")
    info = describe(check)
    if args.json:
        print_json(info)
    else:
        print(render(info))
    return 0
