"""A fleet of real images for batch tests: good ones, a hostile one, a corrupt one, a missing one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import make_image, qemu_img


def write_fleet(folder: Path) -> Path:
    """Build the images and a manifest listing them (plus a path that does not exist); return the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    make_image(folder / "good.qcow2", "qcow2", "64M")
    make_image(folder / "good.raw", "raw", "16M")
    make_image(folder / "base.raw", "raw", "16M")
    # Hostile: names a backing file, so opening it would open another host file.
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(folder / "base.raw"), "-F", "raw",
             str(folder / "hostile.qcow2"), "16M")
    # Corrupt: a qcow2 cut inside its header.
    whole = make_image(folder / "whole.qcow2", "qcow2", "64M").read_bytes()
    (folder / "corrupt.qcow2").write_bytes(whole[:40])
    (folder / "whole.qcow2").unlink()
    manifest = folder / "fleet.yaml"
    manifest.write_text(
        "profile: huaweicloud\n"
        "images:\n"
        "  - good.qcow2\n"
        "  - good.raw\n"
        "  - hostile.qcow2\n"
        "  - corrupt.qcow2\n"
        "  - missing.vmdk\n"
    )
    return manifest


#: What each image of the fleet must come out as.
EXPECTED_BAD = {"hostile.qcow2": ("fail", "error"), "corrupt.qcow2": ("fail", "error"), "missing.vmdk": ("error",)}


@pytest.fixture(scope="session")
def fleet(tmp_path_factory) -> Path:
    return write_fleet(tmp_path_factory.mktemp("fleet"))
