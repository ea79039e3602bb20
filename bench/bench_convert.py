"""``imgtools convert --no-verify`` against bare ``qemu-img convert``, per target format.

The source is a 1 GiB raw image, half incompressible data and half holes, in
alternating 64 MiB stretches (built once, cached under ``.cache/bench/``).  For
each target both commands write the same output with the same qemu-img options;
each is run ``REPEAT`` times in alternation and the best time is kept, so the
ratio shows imgtools' own overhead (start-up, probe, measure, info, fsync,
rename), which should stay within 10 %.  imgtools makes its output durable
before renaming it; bare qemu-img does not always (raw, vpc, vdi, vhdx outputs
stay in the page cache), so the bare time is also shown followed by that fsync.
Both are measured twice: with the source in the page cache, and (as root) with
the cache dropped before every run, the way a freshly exported image is read.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

from bench import cache_dir, imgtools_cli, recipe_key, timed
from imgtools import qemu
from imgtools.formats import get_format

SIZE = 1 << 30
STRETCH = 64 << 20
REPEAT = 3
TARGET_RATIO = 1.10
#: (format, subformat): every writable format in its default form, plus the fixed VHD Azure wants.
TARGETS = [("raw", None), ("qcow2", None), ("vmdk", "streamOptimized"), ("vpc", "dynamic"), ("vpc", "fixed"),
           ("vhdx", "dynamic"), ("vdi", "dynamic")]


def source_image() -> Path:
    """The cached source: data in every other stretch, seeded so every build is identical."""
    recipe = {"size": SIZE, "stretch": STRETCH, "seed": 7, "layout": "data-hole-alternating"}
    path = cache_dir() / f"convert-source-{recipe_key(recipe)}.raw"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    rng = random.Random(recipe["seed"])
    with open(partial, "wb") as f:
        f.truncate(SIZE)
        for offset in range(0, SIZE, 2 * STRETCH):
            f.seek(offset)
            f.write(rng.randbytes(STRETCH))
    partial.rename(path)
    return path


def fsync_seconds(path: Path) -> float:
    """Time to make ``path`` durable, as imgtools does before its rename."""
    started = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return time.perf_counter() - started


def drop_caches() -> bool:
    """Empty the page cache (root only), so the next run reads its source from disk."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def bench_target(src: Path, scratch: Path, fmt: str, subformat: str | None, cold: bool) -> dict[str, float]:
    """Best-of-REPEAT seconds: bare qemu-img, the same plus an fsync of its output, and imgtools.

    ``cold``: the page cache is dropped before every run, as when an exported
    image is read from disk for the first time (the usual case for a migration).
    """
    out = scratch / f"out.{get_format(fmt).extension}"
    bare = qemu.convert_argv(str(src), "raw", str(out), fmt, options=get_format(fmt).create_options(subformat))
    ours = [imgtools_cli(), "convert", str(src), str(out), "-O", fmt, "--no-verify"]
    if subformat:
        ours += ["-o", f"subformat={subformat}"]
    best = {"bare": float("inf"), "synced": float("inf"), "imgtools": float("inf")}
    for _ in range(REPEAT):
        for name, argv in (("bare", bare), ("imgtools", ours)):
            out.unlink(missing_ok=True)
            os.sync()  # no write-back of the previous run inside this one
            if cold:
                drop_caches()
            seconds = timed(argv)
            best[name] = min(best[name], seconds)
            if name == "bare":
                best["synced"] = min(best["synced"], seconds + fsync_seconds(out))
    out.unlink(missing_ok=True)
    return best


def main() -> int:
    src = source_image()
    scratch = cache_dir("convert-scratch")
    startup = min(timed([imgtools_cli(), "--help"]) for _ in range(REPEAT))
    print(
        f"imgtools convert --no-verify vs bare qemu-img convert ({qemu.version()}): "
        f"{SIZE >> 20} MiB raw source, half data / half holes; best of {REPEAT}; target ratio <= {TARGET_RATIO:.2f}\n"
        f"imgtools start-up alone ('imgtools --help'): {startup:.2f} s; "
        "'+fsync' is bare qemu-img followed by the fsync imgtools does before renaming"
    )
    modes = [("warm page cache", False)] + ([("cold: page cache dropped before each run", True)]
                                             if drop_caches() else [])
    missed = 0
    for title, cold in modes:
        print(f"\n{title}")
        print(f"{'target':<22}{'qemu-img':>9}{'+fsync':>8}{'imgtools':>9}{'ratio':>7}{'ratio/+fsync':>13}")
        for fmt, subformat in TARGETS:
            t = bench_target(src, scratch, fmt, subformat, cold)
            ratio, synced_ratio = t["imgtools"] / t["bare"], t["imgtools"] / t["synced"]
            missed |= synced_ratio > TARGET_RATIO
            label = fmt + (" " + subformat if subformat else "")
            print(
                f"{label:<22}{t['bare']:>9.2f}{t['synced']:>8.2f}{t['imgtools']:>9.2f}{ratio:>7.2f}"
                f"{synced_ratio:>13.2f}  {'ok' if synced_ratio <= TARGET_RATIO else 'OVER'}",
                flush=True,
            )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
