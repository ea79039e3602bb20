"""Open a page in headless Chromium: the DOM after its scripts ran, its console errors, a screenshot."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0",
]


def open_page(page: Path, scratch: Path, *, screenshot: Path | None = None) -> tuple[str, list[str]]:
    """(the DOM after load, console error lines).  Skips when Chromium is not installed."""
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (make system-deps installs it)")
    extra = [f"--screenshot={screenshot}", "--window-size=1300,1600"] if screenshot else ["--dump-dom"]
    proc = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={scratch}", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    console = [line for line in proc.stderr.splitlines()
               if "CONSOLE" in line and ("Uncaught" in line or "Error" in line)]
    return proc.stdout, console
