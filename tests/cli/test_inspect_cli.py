"""`imgtools inspect` from the command line: JSON contract, readable view, exit codes, one-line errors."""

from __future__ import annotations

import json

import pytest

from imgtools.errors import InspectionError
from imgtools.inspect import session
from tests.support import make_image, qemu_img


@pytest.fixture
def no_launch(monkeypatch):
    def refuse(*args, **kwargs):
        raise InspectionError("libguestfs appliance failed to start: injected; run libguestfs-test-tool to see why")
    monkeypatch.setattr(session, "_try_launch", refuse)


@pytest.fixture(scope="module")
def debian_guest():
    from fixtures.guests import build

    return build(["debian-virtio"])["debian-virtio"]


def test_help_names_options_and_exit_codes(run):
    code, out, _ = run("inspect", "--help")
    assert code == 0
    for text in ("--json", "--no-cache", "--format-hint", "--disk", "exit codes", "ready"):
        assert text in out


def test_unsafe_image_exits_1_with_violations(run, tmp_path, no_launch):
    base = make_image(tmp_path / "base.raw", "raw", "8M")
    child = tmp_path / "child.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", "raw", str(child))
    code, out, err = run("inspect", str(child))
    assert code == 1 and err == ""
    assert "UNSAFE, not opened" in out and "backing" in out
    code, out, _ = run("inspect", "--json", str(child))
    data = json.loads(out)
    assert code == 1
    assert data["image"]["safe"] is False and data["guest"] is None and data["drivers"] is None


def test_missing_image_is_a_one_line_usage_error(run, tmp_path):
    code, out, err = run("inspect", str(tmp_path / "nope.qcow2"))
    assert code == 2 and out == ""
    assert err.startswith("imgtools inspect: ") and err.count("\n") == 1


def test_launch_failure_exits_2_with_one_line(run, tmp_path, no_launch):
    image = make_image(tmp_path / "blank.qcow2", "qcow2", "16M")
    code, out, err = run("inspect", "--no-cache", str(image))
    assert code == 2 and out == ""
    assert err == ("imgtools inspect: libguestfs appliance failed to start: injected; "
                   "run libguestfs-test-tool to see why\n")


@pytest.mark.appliance
@pytest.mark.slow
def test_json_contract(run, debian_guest):
    code, out, err = run("inspect", "--json", str(debian_guest))
    assert code == 0, err
    data = json.loads(out)
    assert {k: data["guest"][k] for k in ("type", "distro", "major_version", "minor_version", "arch",
                                         "product_name", "hostname")} == {
        "type": "linux", "distro": "debian", "major_version": 12, "minor_version": 4, "arch": "x86_64",
        # os-release's PRETTY_NAME, where libguestfs' inspect_os said just "12.4" for Debian
        "product_name": "Debian GNU/Linux 12 (bookworm)", "hostname": "deb-virtio"}
    assert {k: data["boot"][k] for k in ("firmware", "partition_table")} == {"firmware": "bios",
                                                                            "partition_table": "mbr"}
    assert data["drivers"]["virtio"] == {"blk": "ready", "scsi": "ready", "net": "ready"}
    assert data["drivers"]["xen"] == {"blk": "installed", "net": "installed"}
    assert data["linux"] == {"fstab_by_uuid": True, "udev_net_rules": False, "dhcp": True, "cloud_init": True}
    assert data["facts"]["linux"]["kernels"]
    assert err == ""  # progress only on a terminal


@pytest.mark.appliance
@pytest.mark.slow
def test_readable_view(run, debian_guest):
    code, out, _ = run("inspect", str(debian_guest))
    assert code == 0
    assert "firmware:     bios (mbr partition table)" in out
    assert "boot loader:  grub2 (/boot/grub/grub.cfg)" in out
    assert "virtio      blk ready  scsi ready  net ready" in out
    assert "cloud-init:   22.4.2" in out
    assert "kernels: 6.1.0-12-amd64, 6.1.0-13-amd64 (default)" in out
