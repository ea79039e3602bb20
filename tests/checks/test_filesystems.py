"""imgtools.checks.filesystems: a passing and a failing facts document for every file-system check."""

from __future__ import annotations

import pytest

from imgtools.facts import DeviceSpec, FstabEntry, Usage

from .cases import case, setting, verify
from .sample_facts import GIB, debian, windows


def _add_fstab(entry: FstabEntry):
    def apply(facts):
        facts.facts.linux.fstab.append(entry)

    return apply


BY_ID = FstabEntry(spec=DeviceSpec(raw="/dev/disk/by-id/ata-VBOX_HARDDISK_VB1-part2", kind="by_id"),
                   mountpoint="/home", fstype="ext4", on_system_disk=True)
DATA_DISK = FstabEntry(spec=DeviceSpec(raw="UUID=1111-2222", kind="uuid"), mountpoint="/data", fstype="xfs",
                       on_system_disk=False)
DATA_DISK_NOFAIL = DATA_DISK.model_copy(update={"nofail": True, "options": ["defaults", "nofail"]})
ZFS = FstabEntry(spec=DeviceSpec(raw="LABEL=tank", kind="label"), mountpoint="/tank", fstype="zfs", on_system_disk=True)


def _usage(mountpoint: str, free: int):
    def apply(facts):
        facts.facts.storage.filesystems = [Usage(mountpoint=mountpoint, device="/dev/sda1", size=10 * GIB, free=free)]

    return apply


CASES = [
    case("IMG-FS-001", "pass", debian, message="names its 1 devices"),
    case("IMG-FS-001", "fail", debian, _add_fstab(BY_ID), message="/dev/disk/by-id/ata-VBOX_HARDDISK_VB1-part2 on /home",
         remediation="blkid"),
    case("IMG-FS-002", "pass", debian, _add_fstab(DATA_DISK_NOFAIL), message="marked nofail"),
    case("IMG-FS-002", "fail", debian, _add_fstab(DATA_DISK), message="UUID=1111-2222 on /data"),
    case("IMG-FS-003", "pass", debian, message="ext4"),
    case("IMG-FS-003", "fail", debian, _add_fstab(ZFS), message="zfs (/tank)"),
    case("IMG-FS-003", "fail", debian, setting("facts.storage.root_fstype", "reiserfs"), label="root",
         message="reiserfs (/)"),
    case("IMG-FS-004", "pass", debian, message="/ 6.00 GiB free"),
    case("IMG-FS-004", "fail", debian, _usage("/", 100 << 20), message="/ has 100.0 MiB free, needs 512.0 MiB"),
    case("IMG-FS-004", "fail", windows, _usage("/", 1 << 29), label="windows", message="C: has 512.0 MiB free",
         remediation="cleanmgr"),
    case("IMG-FS-004", "pass", windows, params={"min_free_windows": "6GiB"}, label="windows",
         message="C: 20.00 GiB free"),
    case("IMG-FS-004", "skip", debian, setting("facts.storage.filesystems", []), label="no-usage"),
]


@pytest.mark.parametrize("c", CASES)
def test_filesystem_check(c):
    verify(c)
