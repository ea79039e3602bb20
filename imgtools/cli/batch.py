"""`imgtools batch`: check (or prepare) every image a manifest lists, in parallel, with reports."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError
from .output import print_json

if TYPE_CHECKING:
    from ..batch.progress import Progress

DESCRIPTION = """\
Check (or prepare) every image a manifest lists against a platform profile,
each in its own worker process, and write the reports to OUTDIR:
summary.json, junit.xml, report.html (open it in a browser) and <image>.json.

A bad image (missing, unreadable, hostile, corrupt, hung past its timeout)
becomes an error or fail row with its reason; the batch always finishes.
Ctrl-C stops the workers and still writes the partial reports.

The minimal manifest:
  profile: huaweicloud
  images: [disks/web01.vmdk, "exports/*.vhd"]     # relative to the manifest
Per image: {path: P | glob: G, profile, action: check|prepare, options, waivers, timeout}.
"""

EPILOG = """\
a Dask cluster (--executor dask://HOST:PORT):
  every machine needs imgtools[batch], qemu-img and libguestfs, and the images
  at the same paths (shared storage).  Start the scheduler and the workers:
    dask scheduler --host 0.0.0.0 --port 8786
    dask worker tcp://SCHEDULER:8786 --nthreads 1 --nworkers N   # N <= cores and GiB of RAM
  then: imgtools batch fleet.yaml --executor dask://SCHEDULER:8786

exit codes:
  0  every image passed
  1  an image failed its checks or could not be checked
  2  usage or environment error (bad manifest, scheduler unreachable)
  130 interrupted (the partial reports were written)
"""


def register(sub) -> None:
    parser = sub.add_parser(
        "batch", help="check or prepare many images in parallel (locally or on Dask), with HTML/JSON/JUnit reports",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("manifest", metavar="MANIFEST.yaml", help="the manifest listing the images")
    parser.add_argument("-j", "--jobs", type=int, metavar="N",
                        help="images at once (local executor; default: CPUs, at most one per GiB of free memory)")
    parser.add_argument("--executor", default="local", metavar="local|dask://HOST:PORT",
                        help="where the jobs run (default: local)")
    parser.add_argument("-o", "--outdir", type=Path, metavar="OUTDIR",
                        help="where the reports go (default: ./<manifest name>.batch)")
    parser.add_argument("--resume", action="store_true",
                        help="skip images whose result in OUTDIR still holds (same file, same settings)")
    parser.add_argument("--fail-on", choices=["error", "warning", "info"], default="error",
                        help="lowest failed-finding severity that fails an image (default: error)")
    parser.add_argument("--format", choices=["text", "json"], default="text",
                        help="what to print when done: a short text summary, or summary.json")
    parser.add_argument("--json", dest="format", action="store_const", const="json", help="same as --format json")
    parser.add_argument("--timeout", type=float, metavar="S", help="seconds per image (overrides the manifest)")
    parser.add_argument("--no-cache", dest="refresh", action="store_true",
                        help="inspect every image again instead of re-using cached facts")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..batch import load_manifest, make_executor, run_batch  # imported here: a fast CLI start
    from ..batch.progress import Progress

    if args.timeout is not None and args.timeout <= 0:
        raise UsageError(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    manifest = load_manifest(args.manifest, refresh=args.refresh, fail_on=args.fail_on, timeout=args.timeout)
    executor = make_executor(args.executor, args.jobs)
    outdir = args.outdir or Path(f"{Path(args.manifest).stem}.batch")
    progress = Progress(len(manifest.jobs))
    live = _LiveLine(progress, enabled=sys.stderr.isatty())
    if args.format == "text":
        print(f"imgtools batch: {len(manifest.jobs)} images on {executor.description}", file=sys.stderr)
    with live:
        outcome = run_batch(
            manifest, outdir, executor, resume=args.resume,
            on_start=lambda job, pid: progress.started(job), on_result=progress.finished,
        )
    summary = outcome.summary
    if args.format == "json":
        print_json(summary)
    else:
        _print_text(summary, outdir)
    if outcome.interrupted:
        print("imgtools batch: interrupted; the partial reports are in " + str(outdir), file=sys.stderr)
        return 130
    return 0 if summary["passed"] == summary["total"] else 1


def _print_text(summary: dict, outdir: Path) -> None:
    from ..batch.report import TOP_FAILURES

    width = max((len(image["name"]) for image in summary["images"]), default=5)
    for image in summary["images"]:
        detail = image["reason"] or ", ".join(image["top_failures"])
        more = len(image["findings"]) - TOP_FAILURES
        if more > 0 and not image["reason"]:
            detail += f" (+{more} more)"
        print(f"{image['verdict'].upper():5}  {image['name']:{width}}  {detail}".rstrip())
    print(f"\n{summary['total']} images: {summary['passed']} passed, {summary['failed']} failed, "
          f"{summary['errors']} errors" + (f" ({summary['resumed']} resumed)" if summary["resumed"] else ""))
    for row in summary["check_failures"][:5]:
        print(f"  {row['id']:14} fails on {row['images']} image(s)  {row['title']}".rstrip())
    print(f"reports: {outdir}/report.html, summary.json, junit.xml")


class _LiveLine:
    """Redraws the progress line on stderr twice a second while the batch runs (terminals only)."""

    def __init__(self, progress: Progress, *, enabled: bool):
        self.progress = progress
        self.enabled = enabled
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "_LiveLine":
        if self.enabled:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join()
            sys.stderr.write(f"\r\033[Kbatch: {self.progress.line()}\n")
            sys.stderr.flush()

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            sys.stderr.write(f"\r\033[Kbatch: {self.progress.line()}")
            sys.stderr.flush()
