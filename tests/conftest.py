"""Shared test set-up: an isolated imgtools cache, and real images made with qemu-img."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Facts caches and the KVM verdict go to a per-run folder, never the user's."""
    mp = pytest.MonkeyPatch()
    mp.setenv("IMGTOOLS_CACHE_DIR", str(tmp_path_factory.mktemp("imgtools-cache")))
    # The fast-kernel appliance (~700 MB, a few seconds to build) is shared by every run, like
    # libguestfs' default one: it depends on the host's packages only.
    if not os.environ.get("IMGTOOLS_APPLIANCE_CACHE"):
        mp.setenv("IMGTOOLS_APPLIANCE_CACHE", str(Path(__file__).resolve().parent.parent / ".cache" / "appliance"))
    yield
    mp.undo()
