"""Finding the guest's operating system: a quick Linux probe of our own, libguestfs' ``inspect_os`` for the rest.

``inspect_os`` mounts every filesystem and asks the appliance dozens of
questions about each; under TCG that is about seven seconds for one Debian
guest, more than half of what inspection costs after the launch.  A Linux
root needs far less: mount each Linux filesystem read-only, list the few
files that identify a root in one call, read them, unmount.  The partition
list (UUIDs, labels) is already known, so /etc/fstab resolves without more
round trips.  Whatever this probe does not recognise (Windows, the BSDs, a
root in a btrfs subvolume, a Linux without os-release) goes to ``inspect_os``
exactly as before, so no guest is inspected worse than libguestfs would.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from typing import Literal

from ..facts import DeviceSpec, FstabEntry, Guest
from .families import Debian, Family, Rhel, Suse, family_of
from .linux import guest_disk_index, resolve_device
from .parse.fstab import parse_fstab
from .parse.osrelease import parse_os_release
from .reader import GuestFiles
from .storage import Disks

#: Filesystems a Linux root can be on, as blkid names them.
LINUX_FILESYSTEMS = frozenset({"ext2", "ext3", "ext4", "xfs", "btrfs", "jfs", "reiserfs", "f2fs"})

OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")
HOSTNAME_FILES = ("/etc/hostname", "/etc/HOSTNAME")
#: Binaries whose ELF header gives the guest's architecture, most common first.
ARCH_PROBES = ("/usr/bin/bash", "/bin/bash", "/usr/bin/ls", "/bin/ls", "/usr/bin/sh", "/bin/sh")
#: Package format -> files that show it (used when the distribution does not say).
PACKAGE_FORMAT_MARKERS = {
    "deb": ("/var/lib/dpkg/status",),
    "rpm": ("/var/lib/rpm", "/usr/lib/sysimage/rpm"),
    "apk": ("/lib/apk/db/installed",),
    "pacman": ("/var/lib/pacman/local",),
}
#: Package manager -> its binary, in the order libguestfs prefers them.
PACKAGE_MANAGERS = {
    "apt": ("/usr/bin/apt-get",), "dnf": ("/usr/bin/dnf",), "yum": ("/usr/bin/yum",),
    "zypper": ("/usr/bin/zypper",), "apk": ("/sbin/apk",), "pacman": ("/usr/bin/pacman",),
}
#: Everything one candidate filesystem is asked for, in ONE call.
MARKERS = (*OS_RELEASE, "/etc/fstab", "/etc/debian_version", *HOSTNAME_FILES, *ARCH_PROBES,
           *(p for paths in PACKAGE_FORMAT_MARKERS.values() for p in paths),
           *(p for paths in PACKAGE_MANAGERS.values() for p in paths))

#: os-release ID -> libguestfs' distro name, where they differ (other IDs are kept as they are:
#: openEuler, EulerOS and Kylin, which Huawei Cloud runs, have no libguestfs name at all).
DISTRO_NAMES = {
    "ol": "oraclelinux", "sled": "sles", "opensuse-leap": "opensuse", "opensuse-tumbleweed": "opensuse",
    "kali": "kalilinux", "arch": "archlinux", "alpine": "alpinelinux", "void": "voidlinux",
    "scientific": "scientificlinux", "pld": "pldlinux",
}
#: ID_LIKE word -> the name libguestfs gives a derivative it does not know.
DERIVATIVES = {"rhel": "redhat-based", "fedora": "redhat-based", "centos": "redhat-based", "suse": "suse-based",
               "ubuntu": "ubuntu", "debian": "debian"}
#: Distributions whose package manager is dnf from this major version on (yum before).
DNF_SINCE = {"fedora": 22, "rhel": 8, "centos": 8, "rocky": 8, "almalinux": 8, "oraclelinux": 8, "redhat-based": 8,
             "openeuler": 1, "circle": 8}

#: ELF e_machine -> libguestfs' architecture name.
ELF_MACHINES = {0x03: "i386", 0x3E: "x86_64", 0xB7: "aarch64", 0x28: "arm", 0x15: "ppc64", 0x16: "s390x",
                0xF3: "riscv64", 0x14: "ppc", 0x02: "sparc"}
#: fstab filesystem types that are never a device of the image.
NOT_MOUNTED = frozenset({"swap", "none", "proc", "sysfs", "tmpfs", "devpts", "devtmpfs", "nfs", "nfs4", "cifs",
                         "auto.master", "bind", "overlay", "securityfs", "debugfs"})
#: The partition number in a guest's device name: sda2, vdb1, xvda3, nvme0n1p2.
_PARTITION_NUMBER = re.compile(r"^/dev/(?:(?:[shv]|xv)d[a-z]+|nvme\d+n\d+p)(\d+)$")


@dataclass
class Root:
    """One operating system in the image."""

    #: The appliance device of its root filesystem (libguestfs' name for the root, too).
    device: str
    #: Who recognised it: this module, or libguestfs' inspect_os.
    detected_by: Literal["imgtools", "libguestfs"]
    #: Mountpoint -> appliance device, "/" included.
    mountpoints: dict[str, str] = field(default_factory=dict)
    #: Known now for roots found here; read through inspect_get_* later for libguestfs' ones.
    guest: Guest | None = None


def find_roots(g, files: GuestFiles, disks: Disks) -> list[Root]:
    """Every operating system: Linux roots found quickly, else whatever ``inspect_os`` finds."""
    roots = [root for device in linux_candidates(g, files, disks)
             if (root := _probe_linux(g, files, disks, device)) is not None]
    if roots:
        return roots
    found = files.attempt("the operating systems", g.inspect_os, default=[])
    return [Root(device=device, detected_by="libguestfs",
                 mountpoints=files.attempt("the guest's mountpoints", g.inspect_get_mountpoints, device, default={}))
            for device in found]


def linux_candidates(g, files: GuestFiles, disks: Disks) -> list[str]:
    """Partitions, logical volumes and unpartitioned disks holding a Linux filesystem, largest first.

    Partitions and whole disks carry the type blkid gave when the disks were
    gathered; only a logical volume's is asked of the appliance.
    """
    sized = [(p.size, p.device) for p in disks.partitions if p.fstype in LINUX_FILESYSTEMS]
    partitioned = {disks.disk_of(p.device) for p in disks.partitions}
    whole = [device for index, device in enumerate(disks.devices)
             if index not in partitioned and disks.disk_fstypes.get(device) in LINUX_FILESYSTEMS]
    volumes = [lv for lv in disks.lv_groups
               if files.attempt(f"the filesystem on {lv}", g.vfs_type, lv) in LINUX_FILESYSTEMS]
    for device in [*volumes, *whole]:
        sized.append((files.attempt(f"the size of {device}", g.blockdev_getsize64, device, default=0), device))
    return [device for _size, device in sorted(sized, key=lambda item: -item[0])]


def _probe_linux(g, files: GuestFiles, disks: Disks, device: str) -> Root | None:
    """Mount ``device`` on / read-only; a Root when it holds os-release and fstab. Always unmounts."""
    try:
        g.mount_ro(device, "/")
    except RuntimeError:
        return None  # not mountable (damaged, unsupported features): inspect_os may still know it
    try:
        present = {path.rstrip("/") for path in files.existing(MARKERS)}
        release = next((p for p in OS_RELEASE if p in present), None)
        if release is None or "/etc/fstab" not in present:
            return None
        texts = {path: files.text(path) or "" for path in (release, "/etc/fstab", "/etc/debian_version",
                                                           *HOSTNAME_FILES) if path in present}
        arch_binary = next((p for p in ARCH_PROBES if p in present), None)
        elf = _elf_header(g, files, arch_binary) if arch_binary else b""
        guest = guest_from_files(parse_os_release(texts[release]), texts, present, elf)
        mountpoints = fstab_mountpoints(g, disks, parse_fstab(texts["/etc/fstab"]), device)
        return Root(device=device, detected_by="imgtools", mountpoints=mountpoints, guest=guest)
    finally:
        files.attempt("unmounting", g.umount_all)


def _elf_header(g, files: GuestFiles, path: str) -> bytes:
    """The first bytes of a guest binary, its symlinks resolved inside the guest."""
    real = files.realpath(path) or path
    return files.attempt(f"the header of {path}", g.pread, real, 64, 0, default=b"")


def guest_from_files(release: dict[str, str], texts: dict[str, str], present: set[str], elf: bytes) -> Guest:
    """The Guest libguestfs would report, from os-release and the files around it (pure)."""
    distro = distro_name(release)
    major, minor = parse_version(release.get("VERSION_ID", ""))
    debian_version = texts.get("/etc/debian_version", "").strip()
    if distro == "debian" and re.match(r"^\d+(\.\d+)?$", debian_version):
        major, minor = parse_version(debian_version)  # os-release says only "12"; libguestfs says 12.4
    family = family_of(distro)
    return Guest(
        type="linux",
        distro=distro,
        major_version=major,
        minor_version=minor,
        arch=elf_arch(elf),
        product_name=release.get("PRETTY_NAME") or release.get("NAME", ""),
        hostname=next((texts[p].strip().splitlines()[0] for p in HOSTNAME_FILES if texts.get(p, "").strip()), ""),
        package_format=package_format(family, present),
        package_management=package_management(distro, family, major, present),
    )


def distro_name(release: dict[str, str]) -> str:
    """libguestfs' distro name for an os-release ID (a derivative it does not know by ID_LIKE)."""
    ident = release.get("ID", "").strip().lower()
    if not ident:
        return "unknown"
    name = DISTRO_NAMES.get(ident, ident)
    if family_of(name) is Family:
        likes = release.get("ID_LIKE", "").lower().split()
        name = next((DERIVATIVES[word] for word in likes if word in DERIVATIVES), name)
    return name


def parse_version(text: str) -> tuple[int, int]:
    """"12" -> (12, 0); "22.04" -> (22, 4); "12-SP5" -> (12, 0); junk -> (0, 0)."""
    match = re.match(r"^\s*(\d+)(?:\.(\d+))?", text.strip().strip('"'))
    if not match:
        return 0, 0
    return int(match.group(1)), int(match.group(2) or 0)


def elf_arch(header: bytes) -> str:
    """The architecture an ELF header names ("ppc64le" from a little-endian ppc64); "unknown" otherwise."""
    if len(header) < 20 or header[:4] != b"\x7fELF" or header[5] not in (1, 2):
        return "unknown"
    machine = struct.unpack_from("<H" if header[5] == 1 else ">H", header, 18)[0]
    arch = ELF_MACHINES.get(machine, "unknown")
    return "ppc64le" if arch == "ppc64" and header[5] == 1 else arch


def package_format(family: type[Family], present: set[str]) -> str:
    by_family = {Debian: "deb", Rhel: "rpm", Suse: "rpm"}.get(family)
    return by_family or next((fmt for fmt, paths in PACKAGE_FORMAT_MARKERS.items()
                              if any(p in present for p in paths)), "unknown")


def package_management(distro: str, family: type[Family], major: int, present: set[str]) -> str:
    if family is Debian:
        return "apt"
    if family is Suse:
        return "zypper"
    if distro in DNF_SINCE:
        return "dnf" if major >= DNF_SINCE[distro] else "yum"
    return next((tool for tool, paths in PACKAGE_MANAGERS.items() if any(p in present for p in paths)), "unknown")


def fstab_mountpoints(g, disks: Disks, entries: list[FstabEntry], root_device: str) -> dict[str, str]:
    """Mountpoint -> appliance device for the fstab entries the image's disks hold; "/" is the root probed.

    Without an appliance handle (``g`` None) only names the partition list resolves are looked up.
    """
    mountpoints = {"/": root_device}
    for entry in entries:
        if not entry.mountpoint.startswith("/") or entry.mountpoint == "/" or entry.fstype in NOT_MOUNTED:
            continue
        if "bind" in entry.options:
            continue
        device = appliance_device(g, disks, entry.spec)
        if device:
            mountpoints[entry.mountpoint] = device
        elif entry.spec.kind == "lvm":
            # A mapper device the disks do not show (a LUKS volume, a missing disk): kept, as
            # libguestfs keeps it, so that its failed mount is reported instead of skipped in silence.
            mountpoints[entry.mountpoint] = entry.spec.raw
    return mountpoints


def appliance_device(g, disks: Disks, spec: DeviceSpec) -> str | None:
    """The appliance device a guest's device name means (kernel names mapped by disk order)."""
    if spec.kind == "device":
        index = guest_disk_index(spec.raw)
        if index is None or index >= len(disks.devices):
            return None
        number = _PARTITION_NUMBER.match(spec.raw)
        device = disks.devices[index] + (number.group(1) if number else "")
        return device if device in {p.device for p in disks.partitions} | set(disks.devices) else None
    return resolve_device(g, disks, spec)
