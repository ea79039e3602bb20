"""Facts documents of typical guests, built in code, for unit tests of checks and reports.

Each builder returns a fresh, fully valid :class:`Facts` of a guest that passes
every check of the default profile; a test changes one field to make a check
fail.  The values mirror what inspection finds on real guests.
"""

from __future__ import annotations

from imgtools.facts import (
    Boot, CloudInit, DeviceSpec, Details, Drivers, Facts, FstabEntry, Guest, HypervDrivers, Kernel,
    LinuxFacts, LinuxSummary, ModuleState, NetInterface, Network, Partition, Service, Storage, Usage,
    VirtioDrivers, WindowsDriver, WindowsFacts, XenDrivers,
)
from imgtools.imagefacts import ImageFacts, QemuCheck, Violation

GIB = 1 << 30
ROOT_UUID = "5f3c2a9e-9d1b-4c1e-8f0e-2b7d3c4a5e6f"
DEBIAN_KERNEL = "6.1.0-13-amd64"
RHEL_KERNEL = "5.14.0-362.8.1.el9_3.x86_64"

LINUX_MODULES = (
    "virtio_blk", "virtio_scsi", "virtio_net", "virtio_pci",
    "xen_blkfront", "xen_netfront", "hv_vmbus", "hv_storvsc", "hv_netvsc",
)


def image(path: str = "/images/guest.qcow2", fmt: str = "qcow2", **changes) -> ImageFacts:
    values = dict(path=path, format=fmt, virtual_size=10 * GIB, file_size=2 * GIB, safe=True,
                  check=QemuCheck(status="clean"))
    return ImageFacts(**(values | changes))


def unsafe() -> Facts:
    """A probe-only facts document: the probe rejected the image, nothing was inspected."""
    return Facts(image=image(safe=False, check=None, violations=[
        Violation(id="backing-file", message="qcow2 header names a backing file /etc/shadow"),
    ]))


def _kernel(version: str, initramfs: str) -> Kernel:
    ready = ModuleState(on_disk=True, in_initramfs=True)
    return Kernel(version=version, path=f"/boot/vmlinuz-{version}", initramfs=initramfs, initramfs_readable=True,
                  is_default=True, modules={name: ready for name in LINUX_MODULES})


def _ready_drivers() -> Drivers:
    return Drivers(virtio=VirtioDrivers(blk="ready", scsi="ready", net="ready"),
                   xen=XenDrivers(blk="ready", net="ready"),
                   hyperv=HypervDrivers(vmbus="ready", storage="ready", net="ready"))


def _linux(distro: str, major: int, kernel: str, initramfs: str, tool: str, iface: NetInterface,
           grub_cfg: str) -> Facts:
    root = DeviceSpec(raw=f"UUID={ROOT_UUID}", kind="uuid")
    return Facts(
        image=image(path=f"/images/{distro}.qcow2"),
        guest=Guest(type="linux", distro=distro, major_version=major, arch="x86_64", hostname=distro,
                    package_format="deb" if tool == "initramfs-tools" else "rpm"),
        boot=Boot(firmware="bios", partition_table="mbr", bootloader="grub2", config_paths=[grub_cfg],
                  default_kernel=kernel, cmdline=f"BOOT_IMAGE=/boot/vmlinuz-{kernel} root=UUID={ROOT_UUID} ro quiet",
                  root_spec=root, boot_on_system_disk=True,
                  partitions=[Partition(device="/dev/sda1", number=1, size=10 * GIB, fstype="ext4",
                                        uuid=ROOT_UUID, type_id="0x83", mountpoint="/")]),
        drivers=_ready_drivers(),
        linux=LinuxSummary(fstab_by_uuid=True, udev_net_rules=False, dhcp=True, cloud_init=True),
        facts=Details(
            disks=1,
            storage=Storage(root_fstype="ext4", filesystems=[
                Usage(mountpoint="/", device="/dev/sda1", fstype="ext4", size=10 * GIB, free=6 * GIB),
            ]),
            linux=LinuxFacts(
                initramfs_tool=tool,
                kernels=[_kernel(kernel, initramfs)],
                fstab=[
                    FstabEntry(spec=root, mountpoint="/", fstype="ext4", options=["errors=remount-ro"],
                               on_system_disk=True),
                    FstabEntry(spec=DeviceSpec(raw="proc", kind="other"), mountpoint="/proc", fstype="proc"),
                ],
                network=Network(interfaces=[iface], nozeroconf=True if tool == "dracut" else None),
                cloud_init=CloudInit(installed=True, version="22.4.2", datasources=["OpenStack", "ConfigDrive"]),
                ssh_server=Service(installed=True, enabled=True),
            ),
        ),
    )


def debian() -> Facts:
    """Debian 12, initramfs-tools, ifupdown DHCP, cloud-init: ready for every KVM cloud."""
    return _linux("debian", 12, DEBIAN_KERNEL, f"/boot/initrd.img-{DEBIAN_KERNEL}", "initramfs-tools",
                  NetInterface(name="eth0", source="/etc/network/interfaces", config_system="interfaces", method="dhcp"),
                  "/boot/grub/grub.cfg")


def rhel() -> Facts:
    """RHEL 9, dracut, ifcfg DHCP, cloud-init."""
    return _linux("rhel", 9, RHEL_KERNEL, f"/boot/initramfs-{RHEL_KERNEL}.img", "dracut",
                  NetInterface(name="eth0", source="/etc/sysconfig/network-scripts/ifcfg-eth0",
                               config_system="ifcfg", method="dhcp"),
                  "/boot/grub2/grub.cfg")


def windows() -> Facts:
    """Windows Server 2019 with virtio-win, Xen PV drivers, Cloudbase-Init, RDP and DHCP."""
    boot_start = dict(service=True, start=0, file_exists=True)
    installed = dict(service=True, start=3, file_exists=True)
    drivers = {
        "viostor": WindowsDriver(name="viostor", image_path=r"System32\drivers\viostor.sys", **boot_start),
        "netkvm": WindowsDriver(name="netkvm", **installed),
        "xenbus": WindowsDriver(name="xenbus", **installed),
        "xenvbd": WindowsDriver(name="xenvbd", **boot_start),
        "xennet": WindowsDriver(name="xennet", **installed),
    }
    return Facts(
        image=image(path="/images/win2019.qcow2", virtual_size=40 * GIB, file_size=12 * GIB),
        guest=Guest(type="windows", distro="windows", major_version=10, arch="x86_64",
                    product_name="Windows Server 2019 Standard"),
        boot=Boot(firmware="bios", partition_table="mbr", bootloader="windows", boot_on_system_disk=True),
        drivers=Drivers(virtio=VirtioDrivers(blk="ready", net="installed")),
        facts=Details(
            storage=Storage(filesystems=[Usage(mountpoint="/", device="/dev/sda2", fstype="ntfs",
                                               size=40 * GIB, free=20 * GIB)]),
            windows=WindowsFacts(product_name="Windows Server 2019 Standard", version="10.0", arch="x86_64",
                                 systemroot=r"\Windows", drivers=drivers, cloudbase_init=True, rdp_enabled=True,
                                 dhcp=True, hibernation=False, fast_startup=False, bitlocker=False),
        ),
    )
