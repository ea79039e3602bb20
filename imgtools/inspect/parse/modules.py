"""The one catalogue of kernel drivers imgtools follows, and how module files are named.

A driver is known by its module name with underscores (the kernel treats
``-`` and ``_`` alike); each maps to the Kconfig symbols that build it in.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

#: module name → CONFIG symbols that build it (any one suffices, first is the current name).
CATALOGUE: dict[str, tuple[str, ...]] = {
    # virtio (KVM, Huawei Cloud, OpenStack, GCE)
    "virtio": ("CONFIG_VIRTIO",),
    "virtio_ring": ("CONFIG_VIRTIO",),          # built with CONFIG_VIRTIO since 2.6.x
    "virtio_pci": ("CONFIG_VIRTIO_PCI",),
    "virtio_blk": ("CONFIG_VIRTIO_BLK",),
    "virtio_scsi": ("CONFIG_SCSI_VIRTIO",),
    "virtio_net": ("CONFIG_VIRTIO_NET",),
    "virtio_console": ("CONFIG_VIRTIO_CONSOLE",),
    "virtio_balloon": ("CONFIG_VIRTIO_BALLOON",),
    # Xen PV drivers (older Huawei Cloud hosts, AWS Xen instances)
    "xen_blkfront": ("CONFIG_XEN_BLKDEV_FRONTEND",),
    "xen_netfront": ("CONFIG_XEN_NETDEV_FRONTEND",),
    "xen_platform_pci": ("CONFIG_XEN_PVHVM", "CONFIG_XEN_PLATFORM_PCI"),
    "xen_vbd": ("CONFIG_XEN_BLKDEV_FRONTEND",),  # old SUSE kernel-xen / xen-kmp
    "xen_vnif": ("CONFIG_XEN_NETDEV_FRONTEND",),
    # Hyper-V (Azure)
    "hv_vmbus": ("CONFIG_HYPERV",),
    "hv_storvsc": ("CONFIG_HYPERV_STORAGE",),
    "hv_netvsc": ("CONFIG_HYPERV_NET",),
    # AWS Nitro
    "nvme": ("CONFIG_BLK_DEV_NVME",),
    "nvme_core": ("CONFIG_NVME_CORE",),
    "ena": ("CONFIG_ENA_ETHERNET",),
    # root filesystems the initramfs must mount
    "ext4": ("CONFIG_EXT4_FS",),
    "xfs": ("CONFIG_XFS_FS",),
    "btrfs": ("CONFIG_BTRFS_FS",),
    "dm_mod": ("CONFIG_BLK_DEV_DM",),
    "dm_crypt": ("CONFIG_DM_CRYPT",),
    # SCSI disk driver virtio_scsi needs
    "sd_mod": ("CONFIG_BLK_DEV_SD",),
}

_SUFFIX = re.compile(r"\.ko(?:\.(?:xz|zst|gz))?$")


def module_name(path: str) -> str:
    """``kernel/drivers/block/virtio_blk.ko.xz`` → ``virtio_blk``; ``xen-blkfront.ko`` → ``xen_blkfront``."""
    return _SUFFIX.sub("", PurePosixPath(path).name).replace("-", "_")


def is_module_file(path: str) -> bool:
    return bool(_SUFFIX.search(path))
