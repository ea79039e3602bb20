"""The facts cache: re-checking an image against another profile costs no appliance launch.

A facts document is stored as JSON under ``cache_dir("facts")``, keyed by the
identity of every disk (real path, size, mtime_ns, inode, and a sha256 of the
first and last MiB, so a rewrite that keeps the mtime is still noticed), the
facts schema version and the imgtools version.  Unreadable or invalid cache
files are ignored, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Sequence

from .. import __version__
from ..cache import cache_dir
from ..facts import SCHEMA_VERSION, Facts
from pydantic import ValidationError

EDGE_BYTES = 1 << 20


def image_identity(path: str) -> dict:
    """What changes when the image changes: stat fields plus a hash of its first and last MiB."""
    real = os.path.realpath(path)
    st = os.stat(real)
    digest = hashlib.sha256()
    with open(real, "rb") as f:
        digest.update(f.read(EDGE_BYTES))
        if st.st_size > EDGE_BYTES:
            f.seek(max(EDGE_BYTES, st.st_size - EDGE_BYTES))
            digest.update(f.read(EDGE_BYTES))
    return {
        "path": real,
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "inode": st.st_ino,
        "device": st.st_dev,
        "edges_sha256": digest.hexdigest(),
    }


def cache_key(paths: Sequence[str]) -> str:
    identity = {
        "disks": [image_identity(p) for p in paths],
        "schema_version": SCHEMA_VERSION,
        "imgtools_version": __version__,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _entry(key: str) -> Path:
    return cache_dir("facts") / f"{key}.json"


def load(key: str) -> Facts | None:
    """The cached facts, or None when absent, unreadable, invalid or of another version."""
    try:
        facts = Facts.from_json(_entry(key).read_text())
    except (OSError, ValueError, ValidationError):
        return None
    if facts.schema_version != SCHEMA_VERSION or facts.imgtools_version != __version__:
        return None
    return facts


def store(key: str, facts: Facts) -> None:
    """Write atomically, so a concurrent reader sees the old entry or the new one, never half."""
    final = _entry(key)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(facts.to_json())
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
