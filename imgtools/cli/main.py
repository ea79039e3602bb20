"""Entry point: parse the command line, dispatch, and turn errors into exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module

from .. import __version__
from ..errors import ImgtoolsError

#: The explicit list of subcommands: module names under imgtools.cli, in help order.
COMMANDS = ["probe", "inspect", "check", "explain", "profiles", "convert", "prepare", "batch"]

EXIT_CODES = """exit codes:
  0  success: the image is safe, the checks passed, the output was written
  1  the image is unsafe or failed its checks
  2  usage or environment error (bad option, missing file or tool); one line on stderr
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 like every other usage error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"imgtools: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="imgtools",
        description="Turn VM disk images from other platforms (VMDK, VHD/VHDX, qcow2, raw, …) into images "
        "a public cloud imports and boots on the first try: probe them safely, inspect the guest, check "
        "it against a platform profile, convert and prepare it.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"imgtools {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        import_module(f".{name}", __package__).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ImgtoolsError as exc:
        print(f"imgtools {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"imgtools {args.command}: interrupted; nothing half-written was left behind", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: one line for users, the traceback on request
        if os.environ.get("IMGTOOLS_DEBUG"):
            raise
        print(
            f"imgtools {args.command}: internal error: {type(exc).__name__}: {exc} "
            "(a bug in imgtools; rerun with IMGTOOLS_DEBUG=1 for the traceback and report it)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
