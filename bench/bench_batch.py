"""Batch throughput: the same N guest images with ``-j 1``, ``-j 2`` and a two-worker Dask cluster.

Every image is a synthetic guest from :mod:`fixtures.guests`, so every job
launches the libguestfs appliance; ``--no-cache`` makes each run inspect again
instead of re-using the facts the previous run cached.  Targets: ``-j 2`` at
least 1.8x the throughput of ``-j 1`` on a 2-core machine; Dask within 10% of
local ``-j 2``.

    python -m bench batch        (IMGTOOLS_BENCH_BATCH_IMAGES=N for another N)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import cache_dir, imgtools_cli
from fixtures import guests

#: Images per run; the recipes are cycled (copies are other files, so nothing is shared between them).
DEFAULT_IMAGES = 8
COUNT_ENV = "IMGTOOLS_BENCH_BATCH_IMAGES"
TARGET_LOCAL = 1.8
TARGET_DASK = 0.9


def make_fleet(folder: Path, count: int) -> Path:
    """``count`` guest images (copies of the fixture guests) and a manifest listing them."""
    # Single-disk guests: a batch job gets one file per image.
    single = [name for name, recipe in guests.RECIPES.items() if len(recipe.disks_mb) == 1]
    built = list(guests.build(single).values())
    names = []
    for i in range(count):
        source = built[i % len(built)]
        target = folder / f"{i:02d}-{source.name}"
        shutil.copyfile(source, target)
        names.append(target.name)
    manifest = folder / "bench.yaml"
    manifest.write_text(json.dumps({"profile": "huaweicloud", "images": names}))
    return manifest


def timed_batch(manifest: Path, outdir: Path, *options: str) -> tuple[float, dict]:
    """Seconds for one ``imgtools batch`` run (a fresh process, as users run it), and its summary."""
    started = time.monotonic()
    proc = subprocess.run(
        [imgtools_cli(), "batch", str(manifest), "--no-cache", "-o", str(outdir), "--json", *options],
        capture_output=True, text=True,
    )
    seconds = time.monotonic() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"imgtools batch {' '.join(options)} failed: {proc.stderr.strip()}")
    summary = json.loads(proc.stdout)
    if summary["errors"]:
        reasons = {i["name"]: i["reason"] for i in summary["images"] if i["verdict"] == "error"}
        raise RuntimeError(f"imgtools batch {' '.join(options)}: images in error: {reasons}")
    return seconds, summary


def run(count: int = DEFAULT_IMAGES) -> dict[str, float]:
    from distributed import LocalCluster

    with tempfile.TemporaryDirectory(prefix="batch-", dir=cache_dir()) as scratch:
        folder = Path(scratch)
        manifest = make_fleet(folder, count)
        seconds = {}
        seconds["local -j 1"], one = timed_batch(manifest, folder / "j1", "-j", "1")
        seconds["local -j 2"], two = timed_batch(manifest, folder / "j2", "-j", "2")
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster:
            port = cluster.scheduler_address.rsplit(":", 1)[1]
            seconds["dask, 2 workers"], dask = timed_batch(manifest, folder / "dask", "--executor",
                                                           f"dask://127.0.0.1:{port}")
        verdicts = {label: [i["verdict"] for i in s["images"]] for label, s in
                    (("-j 1", one), ("-j 2", two), ("dask", dask))}
        if len({tuple(v) for v in verdicts.values()}) != 1:
            raise RuntimeError(f"the runs disagree: {verdicts}")
    figures = {f"{label} images/min": count * 60 / s for label, s in seconds.items()}
    figures |= {f"{label} seconds": s for label, s in seconds.items()}
    figures["-j 2 / -j 1 throughput"] = seconds["local -j 1"] / seconds["local -j 2"]
    figures["dask / -j 2 throughput"] = seconds["local -j 2"] / seconds["dask, 2 workers"]
    return figures


def main() -> int:
    count = int(os.environ.get(COUNT_ENV) or DEFAULT_IMAGES)
    print(f"bench_batch: {count} guest images, each job launches the appliance (--no-cache)")
    figures = run(count)
    for label, value in figures.items():
        print(f"  {label:32} {value:8.2f}")
    ok_local = figures["-j 2 / -j 1 throughput"] >= TARGET_LOCAL
    ok_dask = figures["dask / -j 2 throughput"] >= TARGET_DASK
    print(f"  target -j 2 >= {TARGET_LOCAL}x -j 1: {'met' if ok_local else 'NOT met'}; "
          f"dask within {100 - TARGET_DASK * 100:.0f}% of -j 2: {'met' if ok_dask else 'NOT met'}")
    return 0 if ok_local and ok_dask else 1


if __name__ == "__main__":
    sys.exit(main())
