"""`imgtools convert` (placeholder until its issue lands; replaced wholesale by its owner)."""

from __future__ import annotations

from ..errors import UsageError


def register(sub) -> None:
    parser = sub.add_parser("convert", help="(not yet available)")
    parser.set_defaults(run=run)


def run(args) -> int:
    raise UsageError("'convert' is not available yet in this version")
