"""Registration metadata derived from facts, per platform (no appliance)."""

from __future__ import annotations

import subprocess
import tarfile

import pytest

from imgtools.facts import Drivers, VirtioDrivers, XenDrivers
from imgtools.platforms import PLATFORMS, HuaweiCloud, min_disk_gib
from tests.checks.sample_facts import GIB, debian, rhel, windows


def test_registry_names_every_platform_once():
    assert set(PLATFORMS) == {"huaweicloud", "openstack", "aws", "azure", "gce"}


def test_huawei_attributes_of_a_virtio_ready_debian():
    props = HuaweiCloud.properties(debian(), "deb12.qcow2")
    attrs = props["image_attributes"]
    assert attrs["__os_version"] == "Debian GNU/Linux 12.0.0 64bit"
    assert attrs["__os_type"] == "Linux"
    assert attrs["__os_bit"] == "64"
    assert attrs["hw_firmware_type"] == "bios"
    assert attrs["__support_kvm"] == "true"
    assert attrs["__support_xen"] == "true"
    assert attrs["architecture"] == "x86"
    assert attrs["min_disk"] == 40  # a 10 GiB disk still registers at the IMS minimum
    request = props["register_request"]
    assert request["image_url"] == "<bucket>:deb12.qcow2"
    assert request["os_version"] == attrs["__os_version"] and request["min_disk"] == 40


def test_huawei_omits_support_kvm_without_virtio_at_boot():
    facts = debian()
    facts.drivers = Drivers(virtio=VirtioDrivers(blk="installed", scsi="installed", net="installed"),
                            xen=XenDrivers(blk="absent", net="absent"))
    attrs = HuaweiCloud.properties(facts, "x.qcow2")["image_attributes"]
    assert "__support_kvm" not in attrs and "__support_xen" not in attrs


def test_huawei_min_disk_rounds_up_large_disks():
    facts = rhel()
    facts.image.virtual_size = 60 * GIB + 1
    assert min_disk_gib(facts) == 61
    attrs = HuaweiCloud.properties(facts, "x.qcow2")["image_attributes"]
    assert attrs["min_disk"] == 61
    assert attrs["__os_version"] == "Red Hat Linux 9.0 64bit"


def test_uefi_guest_gives_uefi_firmware_everywhere():
    facts = debian()
    facts.boot.firmware = "uefi"
    assert HuaweiCloud.properties(facts, "x.qcow2")["image_attributes"]["hw_firmware_type"] == "uefi"
    assert PLATFORMS["openstack"].properties(facts, "x.raw")["hw_firmware_type"] == "uefi"
    assert PLATFORMS["aws"].properties(facts, "x.vmdk")["boot_mode"] == "uefi"
    assert PLATFORMS["azure"].properties(facts, "x.vhd")["hyper_v_generation"] == "V2"
    assert "UEFI_COMPATIBLE" in PLATFORMS["gce"].properties(facts, "x.raw")["guest_os_features"]


def test_openstack_properties_follow_the_drivers():
    props = PLATFORMS["openstack"].properties(debian(), "x.raw")
    assert props == {
        "hw_disk_bus": "virtio", "hw_vif_model": "virtio", "hw_firmware_type": "bios",
        "os_type": "linux", "os_distro": "debian", "os_version": "12", "hw_qemu_guest_agent": "no",
    }
    facts = debian()
    facts.drivers.virtio.blk = "installed"
    facts.facts.linux.guest_tools = ["qemu-guest-agent"]
    props = PLATFORMS["openstack"].properties(facts, "x.raw")
    assert props["hw_disk_bus"] == "scsi" and props["hw_scsi_model"] == "virtio-scsi"
    assert props["hw_qemu_guest_agent"] == "yes"


def test_windows_properties():
    facts = windows()
    attrs = HuaweiCloud.properties(facts, "w.qcow2")["image_attributes"]
    assert attrs["__os_type"] == "Windows"
    assert attrs["__os_version"] == "Windows Server 2019 Standard 64bit"
    assert PLATFORMS["openstack"].properties(facts, "w.raw")["os_type"] == "windows"
    assert PLATFORMS["aws"].properties(facts, "w.vhd")["disk_containers"][0]["Format"] == "VHD"
    assert PLATFORMS["aws"].properties(facts, "w.vhd")["platform"] == "Windows"


def test_gce_package_is_a_sparse_oldgnu_tar_holding_disk_raw(tmp_path):
    raw = tmp_path / "guest.raw"
    with open(raw, "wb") as f:
        f.write(b"boot" * 128)
        f.truncate(64 << 20)
    out = PLATFORMS["gce"].package(raw, tmp_path, "guest")
    assert out == tmp_path / "guest.tar.gz"
    with tarfile.open(out) as tar:
        member = tar.getmember("disk.raw")
        assert member.size == 64 << 20
        assert tar.extractfile(member).read(512) == b"boot" * 128
    listing = subprocess.run(["tar", "-tvzf", str(out)], capture_output=True, text=True, check=True).stdout
    assert "disk.raw" in listing
    assert out.stat().st_size < 1 << 20  # the holes were not stored
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guest.raw", "guest.tar.gz"]


@pytest.mark.parametrize("name", sorted(PLATFORMS))
def test_unknown_guest_still_gets_metadata(name):
    facts = debian()
    facts.guest.distro = "plan9"
    props = PLATFORMS[name].properties(facts, "x.img")
    assert isinstance(props, dict) and props
