"""Benchmarks: timed runs of the real CLI against bare tools, printed as tables.

Not tests: nothing here asserts, the figures go into reviews and closing
notes.  Each ``bench_<name>.py`` module has ``main() -> int`` (0 when its
targets are met) and is listed in :data:`bench.__main__.BENCHES`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Environment variable that moves the benchmark cache (inputs and scratch outputs).
CACHE_ENV = "IMGTOOLS_BENCH_CACHE"


def cache_dir(*parts: str) -> Path:
    """``$IMGTOOLS_BENCH_CACHE``, else ``.cache/bench`` at the top of the work tree; created."""
    path = Path(os.environ.get(CACHE_ENV) or ROOT / ".cache" / "bench", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def recipe_key(recipe: object) -> str:
    """A short hash of a build recipe, so a changed recipe never reuses a stale input."""
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def imgtools_cli() -> str:
    """The installed CLI of this work tree (``.venv/bin/imgtools``)."""
    path = ROOT / ".venv" / "bin" / "imgtools"
    if not path.exists():
        raise SystemExit(f"{path} is missing: run 'make setup' first")
    return str(path)


def timed(argv: list[str], ok_codes: tuple[int, ...] = (0,)) -> float:
    """Wall-clock seconds of one run; a failed run stops the benchmark with its stderr."""
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in ok_codes:
        raise SystemExit(f"benchmark run failed (exit {done.returncode}): {' '.join(argv)}\n{done.stderr.strip()}")
    return seconds
