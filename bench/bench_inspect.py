"""``imgtools inspect --no-cache --json`` against ``virt-inspector`` on the same images.

Both launch one libguestfs appliance with the same backend (TCG here, where
KVM is broken; the environment's LIBGUESTFS_BACKEND_SETTINGS is set for both
so neither pays for a failed KVM attempt).  virt-inspector lists every
installed package; imgtools reads only what decides a boot, but also lists
each kernel's initramfs.  Images: the synthetic guests of fixtures/guests.py
and, when it is built, the real Debian 12 guest of fixtures/debian.py.  Each
command runs ``REPEAT`` times in alternation; the best time is kept.
Targets: imgtools ≤ 1.0× virt-inspector everywhere, ≤ 0.6× on the real guest.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from bench import imgtools_cli, timed

#: Each run boots an appliance (a minute under TCG on a busy host): override with IMGTOOLS_BENCH_REPEAT.
REPEAT = int(os.environ.get("IMGTOOLS_BENCH_REPEAT", "2"))
TARGET_RATIO = 1.0
REAL_TARGET_RATIO = 0.6
#: Debian-family guests: virt-inspector fails on the synthetic RPM guests (they have no rpm database)
#: and stops to ask for the key of the LUKS guest.
SYNTHETIC = ("debian-virtio", "ubuntu-novirtio", "debian-static")


def images() -> list[tuple[str, list[Path], bool]]:
    """(label, disks, is_real) for every image to time."""
    from fixtures.guests import build_all_disks

    found = [(name, disks, False) for name, disks in build_all_disks(SYNTHETIC).items()]
    try:
        from fixtures.debian import image_path

        real = image_path("virtio")
        if real.exists():
            found.append(("debian12 (real)", [real], True))
        else:
            print(f"bench_inspect: the real Debian guest is not built ({real}); "
                  "build it with 'python -m fixtures.debian'", file=sys.stderr)
    except ImportError:
        pass
    return found


def _timed(argv: list[str]) -> float:
    """Seconds of one run; a failed run is reported and counts as infinitely slow."""
    try:
        return timed(argv)
    except SystemExit as failed:
        print(f"bench_inspect: {failed}", file=sys.stderr)
        return float("inf")


def main() -> int:
    if not shutil.which("virt-inspector"):
        print("bench_inspect: virt-inspector is missing (apt-get install libguestfs-tools)", file=sys.stderr)
        return 1
    os.environ.setdefault("LIBGUESTFS_BACKEND_SETTINGS", "force_tcg")
    cli = imgtools_cli()
    rows = []
    for label, disks, real in images():
        ours = [cli, "inspect", "--no-cache", "--json", str(disks[0])]
        for extra in disks[1:]:
            ours += ["--disk", str(extra)]
        theirs = ["virt-inspector"] + [arg for disk in disks for arg in ("--format=qcow2", "-a", str(disk))]
        best_ours = best_theirs = float("inf")
        for _ in range(REPEAT):
            best_ours = min(best_ours, _timed(ours))
            best_theirs = min(best_theirs, _timed(theirs))
        rows.append((label, best_ours, best_theirs, real))

    print(f"\nimgtools inspect vs virt-inspector (best of {REPEAT}, backend "
          f"{os.environ['LIBGUESTFS_BACKEND_SETTINGS']})")
    print(f"{'image':<20}{'imgtools s':>12}{'virt-inspector s':>18}{'ratio':>8}{'target':>8}")
    missed = False
    for label, ours, theirs, real in rows:
        target = REAL_TARGET_RATIO if real else TARGET_RATIO
        if float("inf") in (ours, theirs):
            missed = True
            print(f"{label:<20}{'failed' if ours == float('inf') else f'{ours:.1f}':>12}"
                  f"{'failed' if theirs == float('inf') else f'{theirs:.1f}':>18}")
            continue
        ratio = ours / theirs
        missed |= ratio > target
        print(f"{label:<20}{ours:>12.1f}{theirs:>18.1f}{ratio:>7.2f}x{target:>7.1f}x{'' if ratio <= target else '  MISSED'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
