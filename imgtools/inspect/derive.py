"""Pure derivations from gathered facts to the summaries of the inspect contract.

No I/O: each function takes facts (or parser output) and returns facts, so
every rule here is unit-tested from synthetic data.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from imgtools.facts import (
    Drivers, DriverState, FstabEntry, Kernel, LinuxFacts, LinuxSummary, ModuleState, Partition,
)
from imgtools.facts import Firmware as FirmwareKind
from imgtools.inspect.parse.bootconfig import BootConfig, version_key
from imgtools.inspect.parse.modules import CATALOGUE, is_module_file, module_name

_MODULE_DIRS = ("lib/modules/", "usr/lib/modules/")


def initramfs_modules(members: list[str]) -> set[str]:
    """Module names of the .ko files an initramfs listing holds under (usr/)lib/modules."""
    found = set()
    for member in members:
        path = member.removeprefix("./").lstrip("/")
        if path.startswith(_MODULE_DIRS) and is_module_file(path):
            found.add(module_name(path))
    return found


def module_states(
    modules_on_disk: set[str],
    config: dict[str, str],
    builtin: set[str],
    initramfs_members: list[str] | None,
) -> dict[str, ModuleState]:
    """The state of every catalogue module for one kernel.

    ``modules_on_disk`` holds module names or .ko paths found under
    /lib/modules/<version>.  Built in means a CONFIG symbol is ``y`` or the
    module is listed in modules.builtin; ``m`` alone proves nothing (the
    module may have been removed), so ``on_disk`` needs a .ko.
    ``initramfs_members`` is None when the initramfs could not be listed.
    """
    on_disk = {module_name(m) for m in modules_on_disk}
    built = {module_name(m) for m in builtin}
    in_initramfs = initramfs_modules(initramfs_members or [])
    return {
        name: ModuleState(
            builtin=name in built or any(config.get(symbol) == "y" for symbol in symbols),
            on_disk=name in on_disk,
            in_initramfs=name in in_initramfs,
        )
        for name, symbols in CATALOGUE.items()
    }


_VIRTIO_TRANSPORT = ("virtio_pci", "virtio_ring", "virtio")

#: contract field → alternatives; each alternative lists the modules that must all be there.
DRIVER_REQUIREMENTS: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("virtio", "blk"): (("virtio_blk", *_VIRTIO_TRANSPORT),),
    ("virtio", "scsi"): (("virtio_scsi", *_VIRTIO_TRANSPORT),),
    ("virtio", "net"): (("virtio_net", *_VIRTIO_TRANSPORT),),
    ("xen", "blk"): (("xen_blkfront",), ("xen_vbd",)),
    ("xen", "net"): (("xen_netfront",), ("xen_vnif",)),
    ("hyperv", "vmbus"): (("hv_vmbus",),),
    ("hyperv", "storage"): (("hv_storvsc", "hv_vmbus"),),
    ("hyperv", "net"): (("hv_netvsc", "hv_vmbus"),),
}

_RANK: dict[DriverState, int] = {"absent": 0, "installed": 1, "ready": 2}


def _module_state(state: ModuleState) -> DriverState:
    if state.builtin or state.in_initramfs:
        return "ready"
    return "installed" if state.on_disk else "absent"


def driver_summary(kernel: Kernel | None) -> Drivers:
    """Driver states of the default kernel, per :data:`DRIVER_REQUIREMENTS`.

    A module is available at first boot when it is built in or inside the
    kernel's initramfs; it is present when it is at least a .ko on disk.  A
    driver is ``ready`` when every module of one alternative (the driver and
    its transports: virtio_pci, virtio_ring, virtio for virtio; hv_vmbus for
    Hyper-V storage and network) is available, ``installed`` when every one
    is at least present, ``absent`` otherwise; the best alternative counts
    (xen_blkfront or old SUSE xen_vbd).  No kernel: all absent.
    """
    drivers = Drivers()
    if kernel is None:
        return drivers
    for (family, field), alternatives in DRIVER_REQUIREMENTS.items():
        best: DriverState = "absent"
        for modules in alternatives:
            states = [_module_state(kernel.modules.get(m, ModuleState())) for m in modules]
            worst = min(states, key=_RANK.__getitem__)
            best = max(best, worst, key=_RANK.__getitem__)
        setattr(getattr(drivers, family), field, best)
    return drivers


ESP_GUID = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
BIOS_BOOT_GUID = "21686148-6449-6e6f-744e-656564454649"
_MBR_ESP = 0xEF


def _mbr_type(type_id: str | None) -> int | None:
    try:
        return int((type_id or "").lower().removeprefix("0x"), 16)
    except ValueError:
        return None


def is_esp(partition: Partition, partition_table: str) -> bool:
    if partition_table == "gpt":
        return (partition.type_id or "").lower() == ESP_GUID
    return partition_table == "mbr" and _mbr_type(partition.type_id) == _MBR_ESP


def is_bios_boot(partition: Partition) -> bool:
    return (partition.type_id or "").lower() == BIOS_BOOT_GUID


def firmware(partition_table: str, partitions: list[Partition]) -> FirmwareKind:
    """The firmware the image boots with, from its partition table.

    GPT: a BIOS-boot partition means grub's BIOS path is installed, so
    ``bios`` (hybrid images with an ESP too boot either way, and BIOS is what
    every target cloud offers by default); else an ESP means ``uefi``; else
    ``unknown``.  MBR: ``bios``, even with an 0xEF partition, because an
    MBR disk carries BIOS boot code in practice and its bootable flag is
    not a fact we keep.  No partition table: ``unknown``.  Only the first
    disk counts: the firmware boots from it.
    """
    partitions = [p for p in partitions if p.disk_index == 0]
    if partition_table == "gpt":
        if any(is_bios_boot(p) for p in partitions):
            return "bios"
        return "uefi" if any(is_esp(p, "gpt") for p in partitions) else "unknown"
    if partition_table == "mbr":
        return "bios"
    return "unknown"


#: Filesystems whose fstab entry does not name a block device of the image:
#: kernel pseudo filesystems, swap, network filesystems, overlays and ZFS datasets.
PSEUDO_FSTYPES = frozenset({
    "proc", "sysfs", "devpts", "tmpfs", "devtmpfs", "ramfs", "debugfs", "securityfs", "cgroup", "cgroup2",
    "hugetlbfs", "mqueue", "pstore", "efivarfs", "configfs", "binfmt_misc", "fusectl", "tracefs", "autofs",
    "usbfs", "rpc_pipefs", "nfsd", "bpf", "none", "swap",
    "nfs", "nfs4", "cifs", "smbfs", "smb3", "glusterfs", "ceph", "9p", "davfs", "sshfs",
    "overlay", "zfs",
})

#: Names that survive a change of disk bus: UUIDs, and LVM volume names.
STABLE_SPECS = frozenset({"uuid", "partuuid", "lvm"})


def needs_block_device(entry: FstabEntry) -> bool:
    """The entry mounts a local block device at boot (not swap, pseudo, network, bind, nofail or noauto)."""
    return not (
        entry.fstype in PSEUDO_FSTYPES
        or entry.fstype.startswith("fuse")
        or entry.nofail
        or {"bind", "rbind", "_netdev"} & set(entry.options)
    )


def fstab_by_uuid(fstab: list[FstabEntry]) -> bool:
    """Every entry boot needs names its device in a way a new disk bus cannot change.

    Accepted: ``UUID=`` (and by-uuid), ``PARTUUID=``, LVM volume paths.  Not
    accepted: ``/dev/sdX`` style names, by-id/by-path links (they embed the
    bus and serial), and ``LABEL=``: Huawei requires UUIDs, and a label
    collides as soon as a disk made from the same image is attached.
    """
    return all(entry.spec.kind in STABLE_SPECS for entry in fstab if needs_block_device(entry))


def primary_interface_uses_dhcp(linux: LinuxFacts) -> bool:
    """The primary interface uses DHCP; no primary interface: False.

    The primary is the first interface, in the gatherer's order, that has an
    address method (dhcp or static) and is not explicitly left down at boot
    (``ONBOOT=no``, ``autoconnect=false``).
    """
    primary = next((i for i in linux.network.interfaces
                    if i.name != "lo" and i.method in ("dhcp", "static") and i.onboot is not False), None)
    return primary is not None and primary.method == "dhcp"


def linux_summary(linux: LinuxFacts) -> LinuxSummary:
    return LinuxSummary(
        fstab_by_uuid=fstab_by_uuid(linux.fstab),
        udev_net_rules=bool(linux.network.udev_net_rules or linux.network.udev_net_rules_in_initramfs),
        dhcp=primary_interface_uses_dhcp(linux),
        cloud_init=linux.cloud_init.installed,
    )


def default_kernel(kernels: list[Kernel], boot: BootConfig | None) -> str | None:
    """Version of the kernel the boot loader starts by default.

    The default entry's kernel is matched by file name, then by version,
    then by suffix (Alpine's ``vmlinuz-lts`` ↔ ``6.6.7-0-lts``).  With no
    boot configuration, or a name that matches nothing (a ``/vmlinuz``
    symlink), the newest installed kernel.  No kernels: None.
    """
    if not kernels:
        return None
    entry = boot.default_entry if boot else None
    if entry is not None and entry.kernel:
        name = PurePosixPath(entry.kernel).name
        wanted = boot.default_kernel_version if boot else None
        for matches in (
            lambda k: PurePosixPath(k.path).name == name,
            lambda k: wanted is not None and k.version == wanted,
            lambda k: wanted is not None and k.version.endswith("-" + wanted),
        ):
            found = [k for k in kernels if matches(k)]
            if found:
                return found[0].version
    return max(kernels, key=lambda k: version_key(k.version)).version
