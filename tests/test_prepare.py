"""prepare end to end on the synthetic fixture guests, for every profile.

One inspection per guest for the whole module (facts are cached by image
identity), so the appliance cost is one launch per guest.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures import guests
from imgtools.facts import Facts
from imgtools.inspect import gather_facts
from imgtools.prepare import prepare
from tests.support import qemu_img, sha256

pytestmark = pytest.mark.appliance

CLI = [sys.executable, "-m", "imgtools.cli.main"]

#: What each profile's output looks like: (qemu format, subformat or None, file ending of the upload).
EXPECTED_OUTPUT = {
    "huaweicloud": ("qcow2", None, ".qcow2"),
    "openstack": ("qcow2", None, ".qcow2"),
    "aws": ("vmdk", "streamOptimized", ".vmdk"),
    "azure": ("vpc", "fixed", ".vhd"),
    "gce": ("raw", None, ".tar.gz"),
}


@pytest.fixture(scope="module")
def guest_images():
    return guests.build(["debian-virtio", "ubuntu-novirtio", "uefi-luks"])


@pytest.fixture(scope="module")
def guest_facts(guest_images) -> dict[str, Facts]:
    return {name: gather_facts(path) for name, path in guest_images.items()}


def outputs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("profile", sorted(EXPECTED_OUTPUT))
def test_every_profile_produces_a_verified_image_and_manifest(profile, guest_images, guest_facts, tmp_path):
    source = guest_images["debian-virtio"]
    before = sha256(source)
    manifest = prepare(source, tmp_path, profile=profile, name="deb", force=True)
    fmt, subformat, upload_suffix = EXPECTED_OUTPUT[profile]

    out = manifest.output
    assert out is not None
    assert out.format == fmt and out.subformat == subformat
    info = json.loads(qemu_img("info", "-f", fmt, "--output=json", out.path))
    assert info["virtual-size"] == out.virtual_size
    assert out.sha256 == sha256(Path(out.path))
    assert out.size == Path(out.path).stat().st_size
    assert manifest.source.sha256 == before == sha256(source)
    assert manifest.source.virtual_size == guest_facts["debian-virtio"].image.virtual_size
    assert manifest.upload.endswith(upload_suffix)
    assert manifest.forced == (manifest.report.verdict == "fail")
    assert manifest.report.profile == profile
    on_disk = json.loads((tmp_path / "deb.manifest.json").read_text())
    assert on_disk["output"]["sha256"] == out.sha256
    assert {"source", "output", "report", "properties"} <= set(on_disk)
    assert not [n for n in outputs(tmp_path) if n.startswith(".")], "a staging file was left behind"


def test_huawei_properties_of_a_virtio_guest(guest_images, tmp_path):
    manifest = prepare(guest_images["debian-virtio"], tmp_path, profile="huaweicloud", force=True)
    attrs = manifest.properties["image_attributes"]
    assert attrs["__support_kvm"] == "true"
    assert attrs["__os_type"] == "Linux"
    assert attrs["hw_firmware_type"] == "bios"
    assert attrs["min_disk"] >= 40


def test_openstack_properties(guest_images, tmp_path):
    props = prepare(guest_images["debian-virtio"], tmp_path, profile="openstack", force=True).properties
    assert props["hw_disk_bus"] == "virtio" and props["hw_vif_model"] == "virtio"
    assert props["os_distro"] == "debian" and props["os_type"] == "linux"


def test_uefi_guest_registers_as_uefi(guest_images, tmp_path):
    manifest = prepare(guest_images["uefi-luks"], tmp_path, profile="openstack", force=True)
    assert manifest.properties["hw_firmware_type"] == "uefi"


def test_guest_without_virtio_gets_no_image_and_no_support_kvm(guest_images, tmp_path):
    source = guest_images["ubuntu-novirtio"]
    manifest = prepare(source, tmp_path, profile="huaweicloud", name="ubu")
    assert manifest.output is None and manifest.upload is None
    assert manifest.report.verdict == "fail"
    failed = {f.id for f in manifest.report.findings if f.status == "fail" and f.severity == "error"}
    assert "IMG-DRV-001" in failed
    assert "__support_kvm" not in manifest.properties["image_attributes"]
    assert outputs(tmp_path) == ["ubu.manifest.json"]

    forced = prepare(source, tmp_path, profile="huaweicloud", name="ubu", force=True)
    assert forced.forced and forced.output is not None
    assert "__support_kvm" not in forced.properties["image_attributes"]


def test_second_run_reuses_facts_and_verified_output(guest_images, guest_facts, tmp_path):
    source = guest_images["debian-virtio"]
    first = prepare(source, tmp_path, profile="openstack", force=True)
    mtime = Path(first.output.path).stat().st_mtime_ns
    started = time.monotonic()
    second = prepare(source, tmp_path, profile="openstack", force=True)
    assert second.reused_output and not first.reused_output
    assert Path(second.output.path).stat().st_mtime_ns == mtime
    assert second.output.sha256 == first.output.sha256
    assert time.monotonic() - started < 10, "the second run relaunched the appliance or converted again"


def test_cli_json_prints_the_manifest_and_exit_codes(guest_images, tmp_path):
    ok = subprocess.run([*CLI, "prepare", str(guest_images["debian-virtio"]), "-o", str(tmp_path / "a"),
                         "--profile", "openstack", "--force", "--json"], capture_output=True, text=True)
    manifest = json.loads(ok.stdout)
    assert {"source", "output", "report", "properties"} <= set(manifest)
    assert ok.returncode == (0 if manifest["report"]["verdict"] == "pass" else 1)

    blocked = subprocess.run([*CLI, "prepare", str(guest_images["ubuntu-novirtio"]), "-o", str(tmp_path / "b")],
                             capture_output=True, text=True)
    assert blocked.returncode == 1
    assert "IMG-DRV-001" in blocked.stdout

    missing = subprocess.run([*CLI, "prepare", str(tmp_path / "nope.qcow2"), "-o", str(tmp_path / "c")],
                             capture_output=True, text=True)
    assert missing.returncode == 2
    assert len(missing.stderr.strip().splitlines()) == 1 and "Traceback" not in missing.stderr
    assert not (tmp_path / "c").exists(), "a failed run left an empty OUTDIR behind"


def test_unsafe_image_is_never_converted(tmp_path):
    base = tmp_path / "base.raw"
    base.write_bytes(b"\0" * 4096)
    hostile = tmp_path / "hostile.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", "raw", str(hostile))
    out = tmp_path / "out"
    manifest = prepare(hostile, out, profile="huaweicloud")
    assert manifest.output is None
    assert manifest.report.verdict == "fail"
    assert outputs(out) == ["hostile.manifest.json"]


def test_interrupted_prepare_leaves_no_image(tmp_path):
    """SIGINT while converting: OUTDIR holds no image, no staging or partial file."""
    source = tmp_path / "big.raw"
    with open(source, "wb") as f:
        for offset in range(0, 1 << 30, 8 << 20):
            f.seek(offset)
            f.write(os.urandom(1 << 20))
        f.truncate(1 << 30)
    before = sha256(source)
    out = tmp_path / "out"
    proc = subprocess.Popen([*CLI, "prepare", str(source), "-o", str(out), "--profile", "aws"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (out.exists() and any(out.iterdir())):
        time.sleep(0.05)
    assert out.exists() and any(out.iterdir()), "the conversion never started"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert outputs(out) == []
    assert sha256(source) == before
