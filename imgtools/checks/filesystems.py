"""File-system checks: will every mount in /etc/fstab succeed on the new platform?"""

from __future__ import annotations

from typing import Any, Mapping

from ..facts import Facts
from .boot import stable_spec_param
from .image import size_text
from ..units import parse_size
from .registry import SIZE_SCHEMA, Check, Outcome, Param, failed, list_param, passed, size_param, skipped
from .remedies import WHERE

IMS_LINUX_DOC = "https://support.huaweicloud.com/intl/en-us/usermanual-ims/ims_01_0209.html"


def _block_entries(facts: Facts):
    """fstab entries that name a block device (not proc, tmpfs, NFS or bind mounts)."""
    return [e for e in facts.facts.linux.fstab if e.spec.kind != "other"]


def _fstab_stable(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    bad = [f"{e.spec.raw} on {e.mountpoint} ({e.spec.kind})" for e in _block_entries(facts)
           if e.spec.kind not in params["allowed"]]
    if bad:
        return failed(f"/etc/fstab names devices that change on the new platform: {'; '.join(bad)}")
    return passed(f"/etc/fstab names its {len(_block_entries(facts))} devices by {'/'.join(params['allowed'])}")


def _fstab_other_disks(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    bad = [f"{e.spec.raw} on {e.mountpoint}" for e in _block_entries(facts)
           if e.on_system_disk is False and not e.nofail and "noauto" not in e.options]
    if bad:
        return failed(f"/etc/fstab mounts devices outside the system disk without nofail: {'; '.join(bad)}")
    return passed("every fstab entry is on the system disk or marked nofail/noauto")


def _fs_types(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    used = {e.fstype: e.mountpoint for e in _block_entries(facts)}
    root = facts.facts.storage.root_fstype
    if root:
        used.setdefault(root, "/")
    bad = [f"{fstype} ({mount})" for fstype, mount in used.items() if fstype not in params["filesystems"]]
    if bad:
        return failed(f"file systems the platform does not support: {', '.join(bad)}")
    return passed(f"file systems in use: {', '.join(sorted(used)) or 'none found'}")


def _free_space(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    usage = {u.mountpoint: u for u in facts.facts.storage.filesystems}
    if facts.guest.type == "windows":  # inspection mounts the system drive (C:) at /
        wanted = {"C:": ("/", params["min_free_windows"])}
    else:
        wanted = {mountpoint: (mountpoint, minimum) for mountpoint, minimum in params["min_free"].items()}
    checked, short = [], []
    for shown, (mountpoint, minimum) in wanted.items():
        found = usage.get(mountpoint)
        if found is None:
            continue
        need = parse_size(minimum)
        checked.append(f"{shown} {size_text(found.free)} free")
        if found.free < need:
            short.append(f"{shown} has {size_text(found.free)} free, needs {size_text(need)}")
    if not checked:
        return skipped("no file-system usage facts for the mount points the profile names")
    if short:
        return failed("; ".join(short))
    return passed(", ".join(checked))


CHECKS = (
    Check(
        id="IMG-FS-001",
        slug="fstab-by-uuid",
        title="/etc/fstab names file systems by UUID or LABEL",
        default_severity="error",
        applies_to="linux",
        rationale="Device names change with the disk bus (/dev/sda becomes /dev/vda; by-id paths carry the old "
        "disk's serial); a failed mount in fstab stops the boot in emergency mode.",
        remediation={
            "any": f"{WHERE}\nReplace each device name with UUID=<uuid> from blkid <device> "
            "(e.g. UUID=…  /  ext4  defaults  0 1) and check with: findmnt --verify",
        },
        docs=IMS_LINUX_DOC,
        evaluate=_fstab_stable,
        params={"allowed": stable_spec_param()},
    ),
    Check(
        id="IMG-FS-002",
        slug="fstab-system-disk-only",
        title="/etc/fstab mounts no other disk (unless nofail)",
        default_severity="error",
        applies_to="linux",
        rationale="Only the system disk is imported; an fstab entry for a data disk that is not there stops the "
        "boot unless it is marked nofail.",
        remediation={
            "any": f"{WHERE}\nDelete the entries for data disks from /etc/fstab, or add nofail to their options "
            "(e.g. UUID=…  /data  xfs  defaults,nofail  0 0).",
        },
        docs=IMS_LINUX_DOC,
        evaluate=_fstab_other_disks,
    ),
    Check(
        id="IMG-FS-003",
        slug="supported-filesystems",
        title="The file systems are of types the platform supports",
        default_severity="error",
        applies_to="linux",
        rationale="The import service and the platform's automatic configuration read the guest's file systems; "
        "types they do not know make the import fail or skip the driver injection.",
        remediation={
            "any": "Move the data to a supported file system (e.g. ext4 or xfs): create it on a new partition, "
            "copy with rsync -aHAX, update /etc/fstab by UUID and the bootloader if / moved.",
        },
        docs="https://docs.aws.amazon.com/vm-import/latest/userguide/prerequisites.html",
        evaluate=_fs_types,
        params={
            "filesystems": list_param(
                ["ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "swap"], "file system types the platform supports"
            )
        },
    ),
    Check(
        id="IMG-FS-004",
        slug="free-space",
        title="There is enough free space on / and /boot",
        default_severity="warning",
        applies_to="any",
        rationale="The platform's automatic configuration and first boot write to the guest: a rebuilt "
        "initramfs in /boot, injected drivers, cloud-init's logs (AWS asks 6 GiB free on Windows).",
        remediation={
            "any": "Free space in the guest (apt-get clean / dnf clean all, journalctl --vacuum-size=100M, remove "
            "old kernels), or grow the disk: qemu-img resize -f <format> IMAGE +2G, then growpart and "
            "resize2fs/xfs_growfs.",
            "windows": "Free space on C: (cleanmgr /sagerun, Dism /Online /Cleanup-Image /StartComponentCleanup) "
            "or extend the disk: qemu-img resize -f <format> IMAGE +10G, then extend C: in Disk Management.",
        },
        docs="https://docs.aws.amazon.com/vm-import/latest/userguide/prerequisites.html",
        evaluate=_free_space,
        params={
            "min_free": Param(
                {"/": "512MiB", "/boot": "32MiB"},
                {"type": "object", "additionalProperties": SIZE_SCHEMA},
                "Linux mount point -> free space it must have",
            ),
            "min_free_windows": size_param("1GiB", "free space the Windows system drive (C:) must have"),
        },
    ),
)
