"""`imgtools probe`: what an image file is, and whether qemu may safely open it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..formats import FORMATS
from .output import human_size, print_json

if TYPE_CHECKING:
    from ..imagefacts import ImageFacts

DESCRIPTION = """\
Tell what a disk image file is without trusting it.

Reads a bounded amount of the file (its first 4 MiB, its last 64 KiB and at
most 32 MiB of metadata its headers point at), whatever the image size; runs
no qemu and never opens a file the image names (backing files, data files,
VMDK extents).  Reports the format (qemu's driver name), subformat, virtual
and file size, encryption, and a safety verdict listing every violation.
Only a safe image is ever handed to qemu-img or libguestfs.
"""

EPILOG = """\
violations (id: meaning):
{violations}

examples:
  imgtools probe disk.vmdk
  imgtools probe --json --format-hint vhd export.vhd

exit codes:
  0  the image is safe
  1  the image is unsafe (see its violations)
  2  usage or environment error (missing or unreadable file, unknown format hint)
"""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Lists the violation registry in --help, importing the probe (and oslo.utils) only then."""

    def add_text(self, text):
        if text and "{violations}" in text:
            from ..probe import VIOLATIONS

            listed = "\n".join(f"  {vid:<20}{meaning}" for vid, meaning in VIOLATIONS.items())
            text = text.replace("{violations}", listed)
        super().add_text(text)


def register(sub) -> None:
    parser = sub.add_parser(
        "probe",
        help="tell what an image file is and whether it is safe to open (bounded read, no qemu)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("image", metavar="IMAGE", help="the image file (never modified)")
    parser.add_argument(
        "--format-hint", metavar="FMT",
        help="the format IMAGE is declared to be (e.g. vmdk, vhd, qcow2); a different detected format is a violation",
    )
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..probe import probe

    facts = probe(args.image, args.format_hint)
    if args.json:
        print_json(facts)
    else:
        print(render(facts))
    return 0 if facts.safe else 1


def render(facts: ImageFacts) -> str:
    """The readable view: one fact a line, then the verdict and each violation with its id."""
    title = FORMATS[facts.format].title
    fmt = f"{facts.format} ({title}{', ' + facts.subformat if facts.subformat else ''})"
    lines = [
        f"image:        {facts.path}",
        f"format:       {fmt}",
        f"virtual size: {human_size(facts.virtual_size)} ({facts.virtual_size} bytes)",
        f"file size:    {human_size(facts.file_size)} ({facts.file_size} bytes)",
        f"encrypted:    {facts.encryption or 'yes'}" if facts.encrypted else "encrypted:    no",
    ]
    if facts.format_hint:
        lines.append(f"declared as:  {facts.format_hint}")
    if len(facts.detected_formats) > 1:
        lines.append(f"signatures:   {', '.join(facts.detected_formats)}")
    if facts.safe:
        lines.append("verdict:      safe")
    else:
        lines.append(f"verdict:      UNSAFE ({len(facts.violations)} violation{'s' if len(facts.violations) > 1 else ''})")
        lines += [f"  [{v.id}] {v.message}" for v in facts.violations]
    return "\n".join(lines)
