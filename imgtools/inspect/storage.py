"""Disks as the appliance sees them: partition table, partitions, LVM, LUKS, free space.

Shared by every guest type.  Disk indices follow the order the images were
given (0 is the system disk); device names are the appliance's (/dev/sdX),
never the guest's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..facts import Partition, PartitionTable, Storage, Usage, VolumeGroup
from .reader import GuestFiles

_TABLES: dict[str, PartitionTable] = {"msdos": "mbr", "gpt": "gpt"}
_PARTITION = re.compile(r"^(/dev/[a-z]+)(\d+)$")


@dataclass
class Disks:
    devices: list[str]
    partition_table: PartitionTable = "none"
    partitions: list[Partition] = field(default_factory=list)
    storage: Storage = field(default_factory=Storage)
    #: LV device (/dev/VG/LV) -> volume group name.
    lv_groups: dict[str, str] = field(default_factory=dict)
    #: Whole disk -> the filesystem (or LUKS container) blkid found on it: an unpartitioned disk's content.
    disk_fstypes: dict[str, str] = field(default_factory=dict)

    def disk_of(self, device: str) -> int | None:
        """The disk index of an appliance device, partition or whole disk."""
        match = _PARTITION.match(device)
        disk = match.group(1) if match else device
        return self.devices.index(disk) if disk in self.devices else None

    def partition_named(self, kind: str, value: str) -> str | None:
        """The partition whose filesystem has this ``uuid`` or ``label`` (``kind``), if any."""
        return next((p.device for p in self.partitions if getattr(p, kind) == value), None)

    def filesystem(self, device: str) -> str | None:
        """What blkid found on a partition or a whole disk (None for a logical volume: blkid was not asked)."""
        on_partition = next((p.fstype for p in self.partitions if p.device == device), None)
        return on_partition or self.disk_fstypes.get(device)

    def disks_under(self, device: str) -> set[int]:
        """Every disk a device lives on: an LV spans its volume group's disks."""
        group = self.lv_groups.get(device)
        if group is not None:
            vg = next((v for v in self.storage.volume_groups if v.name == group), None)
            return set(vg.disks) if vg else set()
        index = self.disk_of(device)
        return set() if index is None else {index}


def gather_disks(g, files: GuestFiles) -> Disks:
    """Partitions of every disk, volume groups and LUKS containers (nothing is opened).

    One ``blkid -p`` per partition gives its table scheme, type, number, size
    and filesystem: parted and sfdisk, each a process in the appliance, are
    only asked about a partition blkid says nothing of.
    """
    disks = Disks(devices=list(g.list_devices()))
    for index, device in enumerate(disks.devices):
        info = _blkid(g, device)
        if index == 0:
            disks.partition_table = _TABLES.get(_SCHEMES.get(info.get("PTTYPE", ""), ""), "none")
        if info.get("TYPE"):
            disks.disk_fstypes[device] = info["TYPE"]
    for device in files.attempt("the partitions", g.list_partitions, default=[]):
        disks.partitions.append(_partition(g, files, disks, device))
    contents = [*disks.disk_fstypes.items(), *((p.device, p.fstype) for p in disks.partitions)]
    disks.storage.luks_devices += [device for device, fstype in contents if fstype == "crypto_LUKS"]
    _gather_lvm(g, files, disks)
    return disks


def _blkid(g, device: str) -> dict[str, str]:
    try:
        return g.blkid(device)
    except RuntimeError:  # no signature at all: an empty or unknown partition
        return {}


#: blkid's PART_ENTRY_SCHEME -> parted's name for the table.
_SCHEMES = {"dos": "msdos", "gpt": "gpt"}


def _partition(g, files: GuestFiles, disks: Disks, device: str) -> Partition:
    info = _blkid(g, device)
    match = _PARTITION.match(device)
    disk, number = (match.group(1), int(match.group(2))) if match else (device, None)
    scheme = _SCHEMES.get(info.get("PART_ENTRY_SCHEME", ""))
    type_id = info.get("PART_ENTRY_TYPE")
    if scheme is None or not type_id:  # blkid knows nothing: ask parted / sfdisk
        scheme = files.attempt(f"the partition table of {disk}", g.part_get_parttype, disk)
        if scheme == "gpt":
            type_id = files.attempt(f"the GPT type of {device}", g.part_get_gpt_type, disk, number)
        elif scheme == "msdos":
            mbr = files.attempt(f"the MBR type of {device}", g.part_get_mbr_id, disk, number)
            type_id = None if mbr is None else f"0x{mbr:02x}"
    size = int(info.get("PART_ENTRY_SIZE") or 0) * 512 or files.attempt(
        f"the size of {device}", g.blockdev_getsize64, device, default=0)
    return Partition(
        device=device,
        disk_index=disks.disk_of(device) or 0,
        number=number,
        size=size,
        fstype=info.get("TYPE") or None,
        uuid=info.get("UUID") or None,
        label=info.get("LABEL") or None,
        type_id=_type_id(scheme, type_id),
    )


def _type_id(scheme: str | None, type_id: str | None) -> str | None:
    """GPT GUIDs upper case (as parted prints them), MBR types as two hex digits ("0x07")."""
    if not type_id:
        return None
    if scheme == "gpt":
        return type_id.upper()
    try:
        return f"0x{int(type_id, 16):02x}"
    except ValueError:
        return type_id


def _gather_lvm(g, files: GuestFiles, disks: Disks) -> None:
    groups = files.attempt("the LVM volume groups", g.vgs, default=[])
    if not groups:
        return
    # LVM prints UUIDs with dashes in some calls and without in others.
    pv_names = {_bare(pv["pv_uuid"]): pv["pv_name"]
                for pv in files.attempt("the LVM physical volumes", g.pvs_full, default=[])}
    lvs = files.attempt("the LVM logical volumes", g.lvs, default=[])
    for name in groups:
        uuids = files.attempt(f"volume group {name}", g.vgpvuuids, name, default=[])
        pvs = [pv_names.get(_bare(uuid), uuid) for uuid in uuids]
        members = sorted(lv for lv in lvs if lv.startswith(f"/dev/{name}/"))
        disk_set = {disks.disk_of(pv) for pv in pvs} - {None}
        disks.storage.volume_groups.append(
            VolumeGroup(name=name, physical_volumes=pvs, disks=sorted(disk_set), logical_volumes=members)
        )
        for lv in members:
            disks.lv_groups[lv] = name


def _bare(uuid: str) -> str:
    return uuid.replace("-", "")


_PLAIN_DEVICE = re.compile(r"^/dev/[a-z]+\d*$")


def canonical(g, device: str) -> str:
    """/dev/mapper/vg-lv and /dev/dm-N → /dev/vg/lv; other devices unchanged (LVM is asked only about LVs)."""
    if _PLAIN_DEVICE.match(device):
        return device
    try:
        return g.lvm_canonical_lv_name(device)
    except RuntimeError:
        return device


def usage(g, files: GuestFiles, mountpoint: str, device: str, fstype: str | None) -> Usage | None:
    stat = files.attempt(f"free space on {mountpoint}", g.statvfs, mountpoint)
    if stat is None:
        return None
    return Usage(
        mountpoint=mountpoint,
        device=device,
        fstype=fstype,
        size=stat["blocks"] * stat["frsize"],
        free=stat["bavail"] * stat["frsize"],
        inodes=stat["files"],
        free_inodes=stat["favail"],
    )
