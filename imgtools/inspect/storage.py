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

    def disk_of(self, device: str) -> int | None:
        """The disk index of an appliance device, partition or whole disk."""
        match = _PARTITION.match(device)
        disk = match.group(1) if match else device
        return self.devices.index(disk) if disk in self.devices else None

    def disks_under(self, device: str) -> set[int]:
        """Every disk a device lives on: an LV spans its volume group's disks."""
        group = self.lv_groups.get(device)
        if group is not None:
            vg = next((v for v in self.storage.volume_groups if v.name == group), None)
            return set(vg.disks) if vg else set()
        index = self.disk_of(device)
        return set() if index is None else {index}


def gather_disks(g, files: GuestFiles) -> Disks:
    """Partitions of every disk, volume groups and LUKS containers (nothing is opened)."""
    disks = Disks(devices=list(g.list_devices()))
    for index, device in enumerate(disks.devices):
        table = files.attempt(f"the partition table of disk {index}", g.part_get_parttype, device)
        if index == 0:
            disks.partition_table = _TABLES.get(table or "", "none")
        parts = files.attempt(f"the partitions of disk {index}", g.part_list, device, default=[]) if table else []
        for part in parts:
            disks.partitions.append(_partition(g, files, device, index, table, part))
        if not parts:
            _note_luks(g, disks, device)
    for part in disks.partitions:
        if part.fstype == "crypto_LUKS":
            disks.storage.luks_devices.append(part.device)
    _gather_lvm(g, files, disks)
    return disks


def _blkid(g, device: str) -> dict[str, str]:
    try:
        return g.blkid(device)
    except RuntimeError:  # no filesystem signature: an empty or unknown partition
        return {}


def _partition(g, files: GuestFiles, disk: str, index: int, table: str, part: dict) -> Partition:
    number = part["part_num"]
    device = f"{disk}{number}"
    if table == "gpt":
        type_id = files.attempt(f"the GPT type of {device}", g.part_get_gpt_type, disk, number)
    else:
        mbr = files.attempt(f"the MBR type of {device}", g.part_get_mbr_id, disk, number)
        type_id = None if mbr is None else f"0x{mbr:02x}"
    info = _blkid(g, device)
    return Partition(
        device=device,
        disk_index=index,
        number=number,
        size=part["part_size"],
        fstype=info.get("TYPE") or None,
        uuid=info.get("UUID") or None,
        label=info.get("LABEL") or None,
        type_id=type_id,
    )


def _note_luks(g, disks: Disks, device: str) -> None:
    """A whole disk without partitions may itself be a LUKS container."""
    if _blkid(g, device).get("TYPE") == "crypto_LUKS":
        disks.storage.luks_devices.append(device)


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


def canonical(g, device: str) -> str:
    """/dev/mapper/vg-lv and /dev/dm-N → /dev/vg/lv; other devices unchanged."""
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
