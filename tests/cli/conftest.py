"""Running the CLI in-process: exit code, stdout and stderr of ``imgtools ARGS``."""

from __future__ import annotations

import pytest

from imgtools.cli import main as cli


@pytest.fixture
def run(capsys):
    """``run(*args) -> (exit code, stdout, stderr)``, argparse's own exits included."""

    def invoke(*args: str) -> tuple[int, str, str]:
        try:
            code = cli.main(list(args))
        except SystemExit as exc:  # argparse: --help, usage errors
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
