"""``imgtools prepare``: the importable image, its manifest and registration metadata."""

from __future__ import annotations

import sys

from .output import ProgressBar, human_size, print_json
from .check import parse_waivers


def register(sub) -> None:
    parser = sub.add_parser(
        "prepare",
        help="produce the importable image, its manifest and registration metadata",
        description="Probe, inspect and check IMAGE against a platform profile, convert it to the format "
        "the platform takes (while inspecting), verify it, and write OUTDIR/NAME.<ext> with "
        "OUTDIR/NAME.manifest.json (source, output, check report, registration properties). When blocking "
        "checks fail no image is produced (exit 1) but the manifest and its report are written; --force "
        "produces it anyway and says so in the manifest. A second run reuses cached facts and an output "
        "that still verifies.",
    )
    parser.add_argument("image", metavar="IMAGE")
    parser.add_argument("-o", "--out-dir", required=True, metavar="OUTDIR", help="folder for the output and manifest")
    parser.add_argument("--profile", default="huaweicloud", help="profile name or YAML file (default: huaweicloud)")
    parser.add_argument("-O", dest="out_format", metavar="FMT", help="output format instead of the profile's")
    parser.add_argument("--name", help="base name of the output files (default: the source's name)")
    parser.add_argument("--fail-on", choices=("error", "warning"), default="error",
                        help="lowest severity whose failure blocks the output (default: error)")
    parser.add_argument("--waive", action="append", default=[], metavar="ID[:REASON]",
                        help="accept a failure of check ID; reported as waived, never hidden; repeatable")
    parser.add_argument("--force", action="store_true", help="produce the image even when blocking checks fail")
    parser.add_argument("--format-hint", metavar="FMT", help="the format the source is expected to be")
    parser.add_argument("--no-cache", action="store_true", help="inspect again instead of using cached facts")
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..prepare import prepare  # imported here: the CLI starts without the whole pipeline

    bar = ProgressBar("prepare", enabled=None if not args.json else False)

    def progress(percent: float, phase: str) -> None:
        if bar.label != phase:
            bar.set_label(phase)
        bar.update(percent)

    try:
        manifest = prepare(
            args.image, args.out_dir, profile=args.profile, out_format=args.out_format, name=args.name,
            fail_on=args.fail_on, waivers=parse_waivers(args.waive), force=args.force,
            format_hint=args.format_hint, refresh=args.no_cache,
            on_progress=progress,
        )
    finally:
        bar.close()
    if args.json:
        print_json(manifest)
    else:
        report = manifest.report
        failed = [f for f in report.findings if f.status in ("fail", "error")]
        print(f"profile {manifest.profile}: checks {report.verdict}" + (f" ({len(failed)} failed)" if failed else ""))
        for finding in failed:
            print(f"  {finding.severity:7} {finding.id} {finding.message}")
        if manifest.output:
            print(f"output   {manifest.output.path} ({manifest.output.format}, {human_size(manifest.output.size)})")
            if manifest.upload != manifest.output.path:
                print(f"upload   {manifest.upload}")
            if manifest.forced:
                print("note     produced with --force although blocking checks failed", file=sys.stderr)
        else:
            print("output   none: blocking checks failed (see the findings; --force produces it anyway)")
        print(f"manifest {args.out_dir.rstrip('/')}/{manifest.name}.manifest.json")
    return 0 if manifest.output and not manifest.forced else 1
