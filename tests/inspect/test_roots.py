"""The quick Linux root probe's pure parts: os-release → Guest, ELF → arch, fstab → mountpoints (no appliance).

The probe itself runs on every fixture guest in test_linux_guests.py and
test_debian_real.py, which assert the same facts libguestfs' inspect_os gave;
here only on a root formatted on a whole disk, which no fixture guest has.
"""

from __future__ import annotations

import struct

import pytest

from imgtools.facts import Partition
from imgtools.inspect.parse.devspec import classify
from imgtools.inspect.parse.fstab import parse_fstab
from imgtools.inspect.reader import GuestFiles
from imgtools.inspect.roots import (
    appliance_device, distro_name, elf_arch, find_roots, fstab_mountpoints, guest_from_files, linux_candidates,
    parse_version,
)
from imgtools.inspect.session import Drive, open_drives
from imgtools.inspect.storage import Disks, gather_disks
from tests.support import make_image


def elf(machine: int, little_endian: bool = True) -> bytes:
    order = "<" if little_endian else ">"
    return (b"\x7fELF\x02" + (b"\x01" if little_endian else b"\x02") + b"\x01" + b"\0" * 9
            + struct.pack(order + "HH", 2, machine) + b"\0" * 40)


@pytest.mark.parametrize("release, expected", [
    ({"ID": "debian"}, "debian"),
    ({"ID": "ubuntu", "ID_LIKE": "debian"}, "ubuntu"),
    ({"ID": "ol", "ID_LIKE": "fedora"}, "oraclelinux"),
    ({"ID": "opensuse-leap", "ID_LIKE": "suse opensuse"}, "opensuse"),
    ({"ID": "sles"}, "sles"),
    ({"ID": "openEuler"}, "openeuler"),          # Huawei's own: kept, and in the RHEL family
    ({"ID": "somespin", "ID_LIKE": "rhel centos fedora"}, "redhat-based"),
    ({"ID": "pop", "ID_LIKE": "ubuntu debian"}, "ubuntu"),
    ({"ID": "gentoo"}, "gentoo"),
    ({"NAME": "no id"}, "unknown"),
])
def test_distro_names_follow_libguestfs(release, expected):
    assert distro_name(release) == expected


@pytest.mark.parametrize("text, expected", [
    ("12", (12, 0)), ("22.04", (22, 4)), ('"9.2"', (9, 2)), ("12-SP5", (12, 0)), ("rolling", (0, 0)), ("", (0, 0)),
])
def test_versions(text, expected):
    assert parse_version(text) == expected


@pytest.mark.parametrize("header, arch", [
    (elf(0x3E), "x86_64"), (elf(0xB7), "aarch64"), (elf(0x03), "i386"), (elf(0x15), "ppc64le"),
    (elf(0x15, little_endian=False), "ppc64"), (elf(0x16, little_endian=False), "s390x"),
    (b"#!/bin/sh\n" + b"\0" * 30, "unknown"), (b"\x7fELF", "unknown"), (elf(0x9999), "unknown"),
])
def test_arch_from_elf_header(header, arch):
    assert elf_arch(header) == arch


def test_debian_takes_the_point_release_from_debian_version():
    release = {"ID": "debian", "VERSION_ID": "12", "PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"}
    texts = {"/etc/debian_version": "12.4\n", "/etc/hostname": "web-1\n"}
    guest = guest_from_files(release, texts, {"/var/lib/dpkg/status"}, elf(0x3E))
    assert (guest.type, guest.distro, guest.major_version, guest.minor_version) == ("linux", "debian", 12, 4)
    assert (guest.arch, guest.hostname, guest.product_name) == ("x86_64", "web-1", "Debian GNU/Linux 12 (bookworm)")
    assert (guest.package_format, guest.package_management) == ("deb", "apt")


def test_testing_debian_version_is_not_a_version():
    guest = guest_from_files({"ID": "debian", "VERSION_ID": "13"}, {"/etc/debian_version": "trixie/sid\n"}, set(), b"")
    assert (guest.major_version, guest.minor_version, guest.arch) == (13, 0, "unknown")


@pytest.mark.parametrize("release, management", [
    ({"ID": "rhel", "VERSION_ID": "9.2"}, "dnf"),
    ({"ID": "centos", "VERSION_ID": "7"}, "yum"),
    ({"ID": "fedora", "VERSION_ID": "39"}, "dnf"),
    ({"ID": "sles", "VERSION_ID": "12.5"}, "zypper"),
])
def test_rpm_distributions(release, management):
    guest = guest_from_files(release, {}, set(), elf(0x3E))
    assert (guest.package_format, guest.package_management) == ("rpm", management)


def test_unknown_distribution_is_read_from_its_files():
    present = {"/lib/apk/db/installed", "/sbin/apk", "/etc/HOSTNAME"}
    guest = guest_from_files({"ID": "alpine", "VERSION_ID": "3.19.1"}, {"/etc/HOSTNAME": "alp\n"}, present, b"")
    assert (guest.distro, guest.major_version, guest.minor_version) == ("alpinelinux", 3, 19)
    assert (guest.package_format, guest.package_management, guest.hostname) == ("apk", "apk", "alp")


def disks_with(*partitions: tuple[str, str | None, str | None]) -> Disks:
    disks = Disks(devices=["/dev/sda", "/dev/sdb"])
    for device, uuid, label in partitions:
        disks.partitions.append(Partition(device=device, disk_index=disks.disk_of(device) or 0,
                                          number=int(device[-1]), size=1 << 30, uuid=uuid, label=label))
    return disks


def test_fstab_resolves_from_the_partition_list():
    disks = disks_with(("/dev/sda1", "aaaa-1111", None), ("/dev/sda2", None, "BOOT"), ("/dev/sdb1", None, None))
    fstab = parse_fstab(
        "UUID=aaaa-1111 / ext4 defaults 0 1\n"
        "LABEL=BOOT /boot ext4 defaults 0 2\n"
        "/dev/vdb1 /data xfs nofail 0 0\n"
        "/dev/sda3 /gone ext4 defaults 0 0\n"
        "/swapfile none swap sw 0 0\n"
        "tmpfs /tmp tmpfs defaults 0 0\n"
        "/srv/a /srv/b none bind 0 0\n"
    )
    g = None  # every name here resolves without asking the appliance
    assert fstab_mountpoints(g, disks, fstab, "/dev/sda1") == {
        "/": "/dev/sda1", "/boot": "/dev/sda2", "/data": "/dev/sdb1",
    }


def test_unresolved_mapper_device_is_kept_so_its_mount_failure_is_reported():
    class NoLvm:  # the appliance knows no such logical volume
        def lvm_canonical_lv_name(self, name):
            raise RuntimeError(f"{name}: not a logical volume")

    fstab = parse_fstab("/dev/mapper/secret /srv ext4 defaults,nofail 0 2\n")
    assert fstab_mountpoints(NoLvm(), disks_with(), fstab, "/dev/sda1") == {"/": "/dev/sda1", "/srv": "/dev/mapper/secret"}


@pytest.mark.parametrize("raw, device", [
    ("/dev/vda", "/dev/sda"), ("/dev/xvda1", "/dev/sda1"), ("/dev/nvme0n1p1", "/dev/sda1"),
    ("/dev/nvme1n1", "/dev/sdb"), ("/dev/sdc1", None), ("/dev/nvme0n1p9", None),
])
def test_guest_device_names_map_to_the_appliance(raw, device):
    disks = disks_with(("/dev/sda1", None, None), ("/dev/sdb1", None, None))
    assert appliance_device(None, disks, classify(raw)) == device


class RecordingAppliance:
    """Answers a device's size and (for logical volumes) its filesystem, recording every call."""

    def __init__(self, sizes: dict[str, int], vfs_types: dict[str, str]):
        self.sizes, self.vfs_types, self.calls = sizes, vfs_types, []

    def blockdev_getsize64(self, device):
        self.calls.append(("blockdev_getsize64", device))
        return self.sizes[device]

    def vfs_type(self, device):
        self.calls.append(("vfs_type", device))
        return self.vfs_types[device]


def test_unpartitioned_disk_type_comes_from_blkid_not_the_appliance():
    """A whole-disk filesystem's type was read by blkid with the disks: only the LV is asked again."""
    disks = Disks(devices=["/dev/sda", "/dev/sdb", "/dev/sdc", "/dev/sdd"],
                  disk_fstypes={"/dev/sda": "ext4", "/dev/sdc": "crypto_LUKS"},  # sdd: blank
                  lv_groups={"/dev/vg/root": "vg"})
    disks.partitions.append(Partition(device="/dev/sdb1", disk_index=1, number=1, size=2 << 30, fstype="xfs"))
    g = RecordingAppliance(sizes={"/dev/sda": 1 << 30, "/dev/vg/root": 3 << 30}, vfs_types={"/dev/vg/root": "ext4"})
    warnings: list[str] = []
    assert linux_candidates(g, GuestFiles(g, warnings), disks) == ["/dev/vg/root", "/dev/sdb1", "/dev/sda"]
    assert [call for call in g.calls if call[0] == "vfs_type"] == [("vfs_type", "/dev/vg/root")]
    assert warnings == []


@pytest.mark.appliance
def test_root_on_an_unpartitioned_disk_is_found_by_the_quick_probe(tmp_path):
    """A real disk formatted whole, no partition table: blkid's type makes it the candidate, the probe reads it."""
    image = make_image(tmp_path / "whole.raw", "raw", "64M")
    with open_drives([Drive(str(image), "raw", readonly=False)]) as appliance:
        g = appliance.g
        g.mkfs("ext4", "/dev/sda")
        g.mount("/dev/sda", "/")
        g.mkdir_p("/etc")
        g.write("/etc/os-release", b'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
        g.write("/etc/fstab", b"/dev/vda / ext4 errors=remount-ro 0 1\n")
        g.umount_all()
        files = GuestFiles(g, [])
        disks = gather_disks(g, files)
        roots = find_roots(g, files, disks)
    assert (disks.partition_table, disks.partitions, disks.disk_fstypes) == ("none", [], {"/dev/sda": "ext4"})
    assert [(r.device, r.detected_by, r.mountpoints) for r in roots] == [("/dev/sda", "imgtools", {"/": "/dev/sda"})]
    assert (roots[0].guest.distro, roots[0].guest.major_version) == ("debian", 12)
    assert files.warnings == []
