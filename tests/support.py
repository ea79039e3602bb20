"""Helpers for tests: real images made with qemu-img, file digests."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def qemu_img(*args: str) -> str:
    return subprocess.run(["qemu-img", *args], check=True, capture_output=True, text=True).stdout


def make_image(path: Path, fmt: str, size: str = "64M", *options: str) -> Path:
    """Create an empty image with qemu-img; ``options`` are passed as ``-o`` values."""
    argv = ["create", "-q", "-f", fmt]
    if options:
        argv += ["-o", ",".join(options)]
    qemu_img(*argv, str(path), size)
    return path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
