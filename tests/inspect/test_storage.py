"""Gathering the disks from blkid's answers (a recorded appliance; the real one runs in test_linux_guests.py)."""

from __future__ import annotations

from imgtools.inspect.reader import GuestFiles
from imgtools.inspect.storage import gather_disks


class BlkidAppliance:
    """Disks without partitions or LVM whose blkid answers are given; a blank device has no signature."""

    def __init__(self, blkid: dict[str, dict[str, str]]):
        self.answers = blkid

    def list_devices(self):
        return list(self.answers)

    def blkid(self, device):
        if not self.answers[device]:
            raise RuntimeError(f"blkid: {device}: no signature found")
        return self.answers[device]

    def list_partitions(self):
        return []

    def vgs(self):
        return []


def test_unpartitioned_disks_keep_the_type_blkid_gave():
    g = BlkidAppliance({
        "/dev/sda": {"TYPE": "ext4", "UUID": "1e2d3c4b-5a69-4788-96a5-b4c3d2e1f007"},
        "/dev/sdb": {"TYPE": "crypto_LUKS"},
        "/dev/sdc": {},
    })
    disks = gather_disks(g, GuestFiles(g, []))
    assert disks.partition_table == "none" and disks.partitions == []
    assert disks.disk_fstypes == {"/dev/sda": "ext4", "/dev/sdb": "crypto_LUKS"}
    assert disks.storage.luks_devices == ["/dev/sdb"]
    assert (disks.filesystem("/dev/sda"), disks.filesystem("/dev/sdc")) == ("ext4", None)
