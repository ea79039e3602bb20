"""Shared test set-up: an isolated imgtools cache, and real images made with qemu-img."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Facts caches and the KVM verdict go to a per-run folder, never the user's."""
    mp = pytest.MonkeyPatch()
    mp.setenv("IMGTOOLS_CACHE_DIR", str(tmp_path_factory.mktemp("imgtools-cache")))
    yield
    mp.undo()
