"""`imgtools check`: will this image import and boot on the platform, and if not, what to change."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..fileio import write_atomically

if TYPE_CHECKING:
    from ..facts import Facts

#: ``imgtools.report.RENDERERS``' names, spelled out so that building the parser (every
#: command's start-up) imports no report code; tests/cli/test_check_cli.py keeps the two equal.
REPORT_FORMATS = ("json", "junit", "sarif", "text")

DESCRIPTION = """\
Check an image against a platform profile and report every finding with its fix.

The image is probed first; an unsafe image is never opened, but still gets a
report (its image-level checks fail, its guest checks skip).  A safe image is
inspected (or its cached facts reused, see --no-cache), then every check the
profile selects runs on the facts.  Each failure comes with the remediation for
the guest's own family: initramfs-tools on Debian/Ubuntu, dracut on
RHEL/CentOS/EulerOS, SUSE's tools, or Windows commands.
"""

EPILOG = """\
profiles: huaweicloud (default), openstack, aws, azure, gce, base, or a YAML file
of your own ('extends: huaweicloud' and change what differs); see 'imgtools profiles'.

examples:
  imgtools check disk.vmdk
  imgtools check --profile azure --fail-on warning disk.vhd
  imgtools check --waive IMG-DRV-002:"KVM flavors only" --format junit -o check.xml disk.qcow2
  imgtools inspect --json disk.qcow2 > facts.json; imgtools check --facts facts.json --profile gce

exit codes:
  0  no finding at or above --fail-on failed
  1  a finding at or above --fail-on failed (or the image is unsafe)
  2  usage or environment error (bad option or profile, missing file or tool)
"""


def register(sub) -> None:
    parser = sub.add_parser(
        "check",
        help="check an image against a platform profile; every failure comes with its fix",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("image", metavar="IMAGE", nargs="?", help="the image file (never modified)")
    parser.add_argument("--profile", "-p", default="huaweicloud", metavar="NAME|FILE",
                        help="built-in profile name or a profile YAML file (default: huaweicloud)")
    parser.add_argument("--fail-on", choices=("error", "warning"), default="error",
                        help="lowest severity whose failure fails the check (default: error)")
    parser.add_argument("--waive", action="append", default=[], metavar="ID[:REASON]",
                        help="accept a failure of check ID (id or slug); it is reported as waived, never hidden; "
                             "repeatable")
    parser.add_argument("--format", dest="output_format", choices=REPORT_FORMATS, default="text",
                        help="report format (default: text)")
    parser.add_argument("--json", dest="output_format", action="store_const", const="json",
                        help="same as --format json")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the report to FILE (atomically) and print only the verdict line")
    parser.add_argument("--format-hint", metavar="FMT", help="the format IMAGE is declared to be (e.g. vmdk)")
    parser.add_argument("--no-cache", action="store_true", help="inspect again even if cached facts exist")
    parser.add_argument("--facts", metavar="FILE",
                        help="check a facts document (imgtools inspect --json) instead of an image")
    parser.set_defaults(run=run)


def parse_waivers(values: list[str]) -> dict[str, str]:
    """``ID[:reason]`` options as a mapping id -> reason."""
    waivers = {}
    for value in values:
        check_id, _, reason = value.partition(":")
        if not check_id.strip():
            raise UsageError(f"--waive {value!r}: give a check id, e.g. --waive IMG-DRV-002:reason")
        waivers[check_id.strip()] = reason.strip()
    return waivers


def read_facts(path: str) -> Facts:
    from ..facts import Facts

    try:
        with open(path, encoding="utf-8") as f:
            return Facts.from_json(f.read())
    except OSError as exc:
        raise UsageError(f"cannot read facts file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        first = str(exc).splitlines()[0]
        raise UsageError(f"{path} is not an imgtools facts document ({first}); make one with imgtools inspect --json") from None


def run(args) -> int:
    from ..checks import evaluate
    from ..profiles import load_profile
    from ..report import RENDERERS, text

    if (args.image is None) == (args.facts is None):
        raise UsageError("give either IMAGE or --facts FILE (see 'imgtools check --help')")
    profile = load_profile(args.profile)
    waivers = parse_waivers(args.waive)
    if args.facts:
        facts = read_facts(args.facts)
    else:
        from ..inspect import gather_facts  # an unsafe image is probed only, never opened

        facts = gather_facts(args.image, format_hint=args.format_hint, refresh=args.no_cache)
    report = evaluate(facts, profile, waivers, fail_on=args.fail_on)
    if args.output:
        try:
            write_atomically(args.output, RENDERERS[args.output_format](report))
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        print(f"{text.summary(report)}; report written to {args.output}")
    elif args.output_format == "text":
        sys.stdout.write(text.render(report, color=sys.stdout.isatty()))
    else:
        sys.stdout.write(RENDERERS[args.output_format](report))
    return 1 if report.verdict == "fail" else 0
