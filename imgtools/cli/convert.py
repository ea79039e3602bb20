"""`imgtools convert`: probe, convert, verify, then rename into place."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..formats import compressible_formats, get_format, writable_formats
from .output import ProgressBar, human_size, print_json

DESCRIPTION = """\
Convert a disk image to another format with qemu-img, safely.

The source is probed first and refused if unsafe (backing files, external
extents, hostile headers); qemu-img then reads it only with the format the
probe found, read-only.  The free space the output needs is checked first
(qemu-img measure).  The output is written to a hidden file beside DST and
renamed to DST only after qemu-img succeeded and 'qemu-img compare' found the
guest-visible content identical to the source.  After an error, Ctrl-C or
SIGTERM nothing is left at DST.
"""

EPILOG = """\
examples:
  imgtools convert disk.vmdk disk.qcow2 -O qcow2
  imgtools convert disk.qcow2 disk.vhd -O vpc -o subformat=fixed --align 1MiB   (Azure)

exit codes:
  0  the output was written and verified
  1  the source image is unsafe; nothing was written
  2  usage or environment error (bad option, DST exists, no space, qemu-img missing or failed)
"""


def _targets() -> str:
    """The writable formats and their subformats, from the format registry."""
    lines = ["targets (-O) and subformats (-o subformat=NAME; the first is the default):"]
    for name in writable_formats():
        fmt = get_format(name)
        extras = [" | ".join(fmt.subformats)] if fmt.subformats else []
        extras += ["--compress allowed"] if fmt.compressible else []
        lines.append(f"  {name:<6} {fmt.title}" + (f": {'; '.join(extras)}" if extras else ""))
    return "\n".join(lines) + "\n\n"


def register(sub) -> None:
    parser = sub.add_parser(
        "convert",
        help="convert an image to another format: probed, space-checked, verified, atomic",
        description=DESCRIPTION,
        epilog=_targets() + EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("src", metavar="SRC", help="the image to convert (never modified)")
    parser.add_argument("dst", metavar="DST", help="the file to write; must not exist unless --overwrite")
    parser.add_argument(
        "-O", dest="out_format", metavar="FMT", required=True,
        help=f"output format: {', '.join(writable_formats())} (vhd means vpc)",
    )
    parser.add_argument(
        "-o", dest="options", metavar="subformat=NAME", action="append", default=[],
        help="output subformat, e.g. -o subformat=fixed (see the list below)",
    )
    parser.add_argument(
        "--compress", action="store_true", help=f"compress the output ({', '.join(compressible_formats())} only)"
    )
    parser.add_argument(
        "--align", metavar="SIZE",
        help="round the virtual size up to a multiple of SIZE (e.g. 1MiB, 512K, 1G); the tail reads as zeroes",
    )
    parser.add_argument("--no-verify", dest="verify", action="store_false", help="skip the qemu-img compare of output and source")
    parser.add_argument("--format-hint", metavar="FMT", help="the format SRC is declared to be; a different detected format is refused")
    parser.add_argument("--overwrite", action="store_true", help="replace DST if it exists (never when DST is SRC)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object; no progress bar")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..convert import convert  # imported here so other commands start fast

    bar = ProgressBar("converting", enabled=False if args.json else None)

    def on_progress(percent: float, phase: str) -> None:
        label = "verifying " if phase == "verify" else "converting"
        if bar.label != label:
            bar.close()
            bar.set_label(label)
        bar.update(percent)

    try:
        result = convert(
            args.src, args.dst, args.out_format,
            subformat=_subformat(args.options),
            compress=args.compress,
            align=args.align,
            verify=args.verify,
            format_hint=args.format_hint,
            overwrite=args.overwrite,
            on_progress=on_progress if bar.enabled else None,
        )
    finally:
        bar.close()
    if args.json:
        print_json(result)
        return 0
    kind = " ".join(filter(None, [result.format, result.subformat, "compressed" if result.compressed else None]))
    verified = "verified identical to the source" if result.verified else "not verified (--no-verify)"
    print(
        f"wrote {result.path} ({kind}, virtual size {human_size(result.virtual_size)}, "
        f"file {human_size(result.file_size)}) from {result.source.format} in {result.seconds:.1f} s; {verified}"
    )
    return 0


def _subformat(options: list[str]) -> str | None:
    """``-o subformat=NAME`` (comma lists allowed); any other key is refused."""
    subformat = None
    for item in ",".join(options).split(","):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if key.strip() != "subformat" or not sep or not value.strip():
            raise UsageError(f"-o takes subformat=NAME only, not {item!r}")
        subformat = value.strip()
    return subformat
