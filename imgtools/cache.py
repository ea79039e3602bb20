"""Where imgtools keeps what it can re-use: facts documents, the KVM/TCG verdict."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "IMGTOOLS_CACHE_DIR"


def cache_dir(*parts: str) -> Path:
    """``$IMGTOOLS_CACHE_DIR``, else ``$XDG_CACHE_HOME/imgtools``, else ``~/.cache/imgtools``; created."""
    base = os.environ.get(CACHE_ENV)
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        base = str(Path(xdg) / "imgtools")
    path = Path(base, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
