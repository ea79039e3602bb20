"""Inspect the synthetic guests of fixtures/guests.py and assert every contract fact and the key details.

One appliance builds all guests (cached between runs); each guest is inspected
once per test session (the facts cache shares it with the CLI tests).
"""

from __future__ import annotations

import pytest

from fixtures.guests import RECIPES, build_all_disks
from imgtools.facts import Facts
from imgtools.inspect import gather_facts
from tests.support import sha256

pytestmark = [pytest.mark.appliance, pytest.mark.slow]


@pytest.fixture(scope="session")
def guest_disks() -> dict:
    return build_all_disks(list(RECIPES))


@pytest.fixture(scope="session")
def digests() -> dict:
    """disk path -> (sha256 before inspection, sha256 after)."""
    return {}


@pytest.fixture(scope="session")
def inspect(guest_disks, digests):
    """name -> Facts, each guest inspected at most once per session."""
    done: dict[str, Facts] = {}

    def get(name: str) -> Facts:
        if name not in done:
            disks = guest_disks[name]
            before = [sha256(d) for d in disks]
            done[name] = gather_facts(str(disks[0]), extra_disks=[str(p) for p in disks[1:]])
            digests.update({d: (b, sha256(d)) for d, b in zip(disks, before)})
        return done[name]
    return get


def kernel(facts: Facts, version: str):
    return next(k for k in facts.facts.linux.kernels if k.version == version)


def test_inspection_leaves_the_images_unchanged(inspect, digests):
    for name in ("debian-virtio", "rhel-lvm"):
        inspect(name)
    assert digests and all(before == after for before, after in digests.values())


def test_debian_with_virtio_in_initramfs(inspect):
    facts = inspect("debian-virtio")
    g = facts.guest
    assert (g.type, g.distro, g.major_version, g.minor_version, g.arch) == ("linux", "debian", 12, 4, "x86_64")
    assert g.hostname == "deb-virtio" and g.package_format == "deb"
    assert (facts.boot.firmware, facts.boot.partition_table, facts.boot.bootloader) == ("bios", "mbr", "grub2")
    assert facts.boot.config_paths == ["/boot/grub/grub.cfg"]
    assert facts.boot.default_kernel == "6.1.0-13-amd64"
    assert facts.boot.root_spec.kind == "uuid"
    assert facts.boot.console == ["tty0", "ttyS0,115200n8"]
    assert facts.boot.boot_on_system_disk is True
    assert facts.drivers.virtio.model_dump() == {"blk": "ready", "scsi": "ready", "net": "ready"}
    assert facts.drivers.xen.model_dump() == {"blk": "installed", "net": "installed"}
    assert facts.linux.model_dump() == {"fstab_by_uuid": True, "udev_net_rules": False, "dhcp": True,
                                        "cloud_init": True}
    linux = facts.facts.linux
    assert linux.initramfs_tool == "initramfs-tools"
    assert [k.version for k in linux.kernels] == ["6.1.0-12-amd64", "6.1.0-13-amd64"]
    new, old = kernel(facts, "6.1.0-13-amd64"), kernel(facts, "6.1.0-12-amd64")
    assert new.is_default and not old.is_default
    assert new.initramfs == "/boot/initrd.img-6.1.0-13-amd64"
    assert new.initramfs_readable and new.initramfs_compression == "gzip"
    assert new.modules["virtio_blk"].in_initramfs and new.modules["virtio_blk"].on_disk
    assert not new.modules["virtio_blk"].builtin  # =m in config
    assert old.modules["virtio_blk"].on_disk and not old.modules["virtio_blk"].in_initramfs
    assert linux.cloud_init.installed and linux.cloud_init.version == "22.4.2"
    assert linux.cloud_init.datasources == ["OpenStack", "ConfigDrive", "None"]
    assert linux.cloud_init.network_config_disabled is True
    assert linux.ssh_server.installed and linux.ssh_server.enabled
    assert linux.guest_tools == ["qemu-guest-agent"]
    assert linux.selinux == "absent"
    iface = linux.network.interfaces[0]
    assert (iface.name, iface.method, iface.source) == ("eth0", "dhcp", "/etc/network/interfaces.d/eth0")
    root = next(f for f in facts.facts.storage.filesystems if f.mountpoint == "/")
    assert root.fstype == "ext4" and 0 < root.free < root.size and 0 < root.free_inodes < root.inodes
    assert facts.facts.inspection.warnings == []


def test_ubuntu_without_virtio_in_initramfs(inspect):
    facts = inspect("ubuntu-novirtio")
    assert (facts.guest.distro, facts.guest.major_version) == ("ubuntu", 22)
    assert facts.drivers.virtio.model_dump() == {"blk": "installed", "scsi": "installed", "net": "installed"}
    assert facts.drivers.hyperv.storage == "installed"
    assert facts.drivers.xen.blk == "absent"
    k = kernel(facts, "5.15.0-91-generic")
    assert k.initramfs_compression == "zstd" and k.initramfs_readable
    assert k.modules["virtio_blk"].on_disk and not k.modules["virtio_blk"].in_initramfs
    # LABEL= is not a UUID: Huawei asks for UUIDs.
    assert facts.facts.linux.fstab[0].spec.kind == "label"
    assert facts.linux.model_dump() == {"fstab_by_uuid": False, "udev_net_rules": False, "dhcp": True,
                                        "cloud_init": False}
    iface = facts.facts.linux.network.interfaces[0]
    assert (iface.config_system, iface.name, iface.method, iface.mac) == ("netplan", "ens3", "dhcp",
                                                                          "52:54:00:ab:cd:ef")
    assert facts.facts.linux.guest_tools == ["open-vm-tools"]
    assert facts.facts.linux.cloud_init.installed is False


def test_rhel_with_root_lvm_spanning_two_disks(inspect):
    facts = inspect("rhel-lvm")
    g = facts.guest
    assert (g.distro, g.major_version, g.minor_version, g.package_format) == ("rhel", 9, 2, "rpm")
    assert g.hostname == "rhel9.example.com"
    assert facts.boot.bootloader == "grub2"
    assert facts.boot.default_kernel == "5.14.0-284.11.1.el9_2.x86_64"
    assert facts.boot.root_spec.raw == "/dev/mapper/rhel-root" and facts.boot.root_spec.kind == "lvm"
    assert facts.boot.resume == "/dev/mapper/rhel-swap"
    assert facts.drivers.virtio.model_dump() == {"blk": "ready", "scsi": "ready", "net": "ready"}
    linux = facts.facts.linux
    assert linux.initramfs_tool == "dracut"
    k = linux.kernels[0]
    assert k.initramfs == "/boot/initramfs-5.14.0-284.11.1.el9_2.x86_64.img"
    assert k.initramfs_compression == "none+xz"  # dracut's uncompressed early cpio, then xz
    assert k.modules["virtio_net"].in_initramfs and k.modules["virtio_net"].on_disk  # .ko.xz files
    assert linux.selinux == "enforcing"
    assert linux.network.interfaces[0].config_system == "ifcfg"
    assert linux.network.interfaces[0].method == "dhcp"
    assert linux.network.nozeroconf is True
    assert linux.cloud_init.version == "23.1.1"
    assert linux.cloud_init.metadata_urls == ["http://169.254.169.254"]
    assert "qemu-guest-agent" in linux.guest_tools
    storage = facts.facts.storage
    assert storage.root_on_lvm and storage.root_spans_disks
    (vg,) = storage.volume_groups
    assert vg.name == "rhel" and vg.disks == [0, 1]
    assert vg.logical_volumes == ["/dev/rhel/root", "/dev/rhel/swap"]
    assert facts.boot.boot_on_system_disk is False  # / spans both disks
    assert facts.facts.disks == 2
    boot_entry = next(e for e in linux.fstab if e.mountpoint == "/boot")
    assert boot_entry.on_system_disk is True
    root_entry = next(e for e in linux.fstab if e.mountpoint == "/")
    assert root_entry.on_system_disk is False
    assert facts.linux.fstab_by_uuid is True  # LVM names survive a bus change


def test_sles_with_xen_drivers_only(inspect):
    facts = inspect("sles-xen")
    assert (facts.guest.distro, facts.guest.major_version, facts.guest.minor_version) == ("sles", 12, 5)
    assert facts.guest.hostname == "sles12"
    assert facts.drivers.xen.model_dump() == {"blk": "ready", "net": "ready"}
    assert facts.drivers.virtio.model_dump() == {"blk": "absent", "scsi": "absent", "net": "absent"}
    k = facts.facts.linux.kernels[0]
    assert k.initramfs == "/boot/initrd-4.12.14-122.37-default"
    assert k.initramfs_compression == "xz"
    assert facts.facts.linux.initramfs_tool == "dracut"
    iface = facts.facts.linux.network.interfaces[0]
    assert (iface.source, iface.config_system, iface.method) == ("/etc/sysconfig/network/ifcfg-eth0", "wicked", "dhcp")
    assert facts.facts.inspection.warnings == []
    assert facts.facts.linux.guest_tools == ["xe-guest-utilities"]


def test_static_ip_udev_rules_and_device_names(inspect):
    facts = inspect("debian-static")
    assert (facts.guest.distro, facts.guest.major_version) == ("debian", 11)
    assert facts.linux.model_dump() == {"fstab_by_uuid": False, "udev_net_rules": True, "dhcp": False,
                                        "cloud_init": False}
    network = facts.facts.linux.network
    assert network.udev_net_rules == ["/etc/udev/rules.d/70-persistent-net.rules"]
    assert network.udev_net_rules_in_initramfs == ["etc/udev/rules.d/70-persistent-net.rules"]
    eth0 = next(i for i in network.interfaces if i.name == "eth0")
    assert (eth0.method, eth0.mac) == ("static", "52:54:00:12:34:56")
    fstab = {e.mountpoint: e for e in facts.facts.linux.fstab}
    assert fstab["/"].spec.kind == "device" and fstab["/"].on_system_disk is True
    assert fstab["/data"].on_system_disk is False
    assert fstab["/backup"].spec.kind == "by_id" and fstab["/backup"].nofail
    assert facts.boot.root_spec.raw == "/dev/sda1" and facts.boot.root_spec.kind == "device"
    assert facts.facts.disks == 2


def test_uefi_gpt_with_esp_and_luks(inspect):
    facts = inspect("uefi-luks")
    boot = facts.boot
    assert (boot.firmware, boot.partition_table, boot.has_esp, boot.has_bios_boot) == ("uefi", "gpt", True, False)
    esp = next(p for p in boot.partitions if p.number == 1)
    assert esp.fstype == "vfat" and esp.mountpoint == "/boot/efi"
    assert boot.bootloader == "grub2"
    assert "/boot/efi/EFI/debian/grub.cfg" in boot.config_paths
    assert boot.boot_on_system_disk is True
    assert facts.facts.storage.luks_devices == ["/dev/sda3"]
    assert facts.drivers.virtio.blk == "ready"
    k = facts.facts.linux.kernels[0]
    assert k.initramfs_compression == "zstd"
    iface = facts.facts.linux.network.interfaces[0]
    assert (iface.config_system, iface.method) == ("networkd", "dhcp")
    assert facts.facts.linux.guest_tools == ["virtualbox-additions"]
    # The LUKS volume is reported, never opened: its mount is a warning, not a crash.
    assert any("/srv" in w for w in facts.facts.inspection.warnings)


def test_inspect_json_contract_keys(inspect):
    facts = inspect("debian-virtio").model_dump(mode="json")
    assert {"guest", "boot", "drivers", "linux", "facts"} <= set(facts)
    assert {"type", "distro", "major_version", "minor_version", "arch", "product_name", "hostname"} <= set(facts["guest"])
    assert {"firmware", "partition_table"} <= set(facts["boot"])
    assert set(facts["drivers"]["virtio"]) == {"blk", "scsi", "net"}
    assert set(facts["drivers"]["xen"]) == {"blk", "net"}
    assert set(facts["linux"]) == {"fstab_by_uuid", "udev_net_rules", "dhcp", "cloud_init"}
