"""Shared test set-up: an isolated imgtools cache, and real images made with qemu-img."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _ctrl_c_reaches_children():
    """A run started in the background (``make test &`` in a script, nohup) inherits SIGINT ignored,
    and so would every CLI the Ctrl-C tests start: they would never see their Ctrl-C.  A handler
    here becomes the default action in each child, as on a terminal."""
    previous = signal.getsignal(signal.SIGINT)
    if previous == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


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
