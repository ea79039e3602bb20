"""How a configuration names a block device (fstab's first field, ``root=``).

The kind decides whether the name survives a move to another hypervisor:
UUIDs and labels do, ``/dev/sda1`` may become ``/dev/vda1``.
"""

from __future__ import annotations

import re

from imgtools.facts import DeviceSpec, SpecKind

#: ``KEY=value`` prefixes, checked case-insensitively as fstab and the kernel do.
_TAGS: dict[str, SpecKind] = {
    "UUID=": "uuid",
    "LABEL=": "label",
    "PARTUUID=": "partuuid",
    "PARTLABEL=": "partlabel",
}

#: udev symlink directories.
_BY_DIRS: dict[str, SpecKind] = {
    "/dev/disk/by-uuid/": "uuid",
    "/dev/disk/by-label/": "label",
    "/dev/disk/by-partuuid/": "partuuid",
    "/dev/disk/by-partlabel/": "partlabel",
    "/dev/disk/by-id/": "by_id",
    "/dev/disk/by-path/": "by_path",
}

#: Kernel device names of disks and their partitions, whatever the bus.
_DEVICE = re.compile(
    r"^/dev/(?:"
    r"[shv]d[a-z]+\d*"           # sda1, hda, vdb2
    r"|xvd[a-z]+\d*"             # Xen
    r"|nvme\d+n\d+(?:p\d+)?"     # NVMe
    r"|mmcblk\d+(?:p\d+)?"
    r"|cciss/c\d+d\d+(?:p\d+)?"
    r"|md\d+(?:p\d+)?|md/\S+"    # software RAID
    r"|dm-\d+"
    r"|sr\d+|fd\d+"             # optical, floppy
    r")$"
)

#: Directories under /dev that are never a volume group.
_NOT_VG = {"disk", "mapper", "md", "cciss", "block", "char", "pts", "shm", "fd", "input", "bus", "net", "snd"}


def classify(spec: str) -> DeviceSpec:
    """Sort one device name into a :data:`SpecKind` (``other`` when unknown)."""
    text = spec.strip()
    upper = text.upper()
    for prefix, kind in _TAGS.items():
        if upper.startswith(prefix):
            return DeviceSpec(raw=text, kind=kind)
    for prefix, kind in _BY_DIRS.items():
        if text.startswith(prefix):
            return DeviceSpec(raw=text, kind=kind)
    if _DEVICE.match(text):
        return DeviceSpec(raw=text, kind="device")
    if text.startswith("/dev/mapper/") and len(text) > len("/dev/mapper/"):
        return DeviceSpec(raw=text, kind="lvm")
    parts = text.split("/")
    if len(parts) == 4 and parts[:2] == ["", "dev"] and parts[2] not in _NOT_VG and parts[2] and parts[3]:
        return DeviceSpec(raw=text, kind="lvm")
    return DeviceSpec(raw=text, kind="other")


def tag_value(spec: DeviceSpec) -> str | None:
    """The UUID or label a tagged or by-uuid/by-label spec names, else None."""
    if spec.kind not in ("uuid", "label", "partuuid", "partlabel"):
        return None
    if "=" in spec.raw and not spec.raw.startswith("/"):
        return spec.raw.split("=", 1)[1].strip('"')
    return spec.raw.rsplit("/", 1)[1]
