import pytest

from imgtools.facts import (
    CloudInit, DeviceSpec, FstabEntry, Kernel, LinuxFacts, ModuleState, NetInterface, Network, Partition,
)
from imgtools.inspect.derive import (
    BIOS_BOOT_GUID, ESP_GUID, default_kernel, driver_summary, firmware, fstab_by_uuid, initramfs_modules,
    linux_summary, module_states,
)
from imgtools.inspect.parse.bootconfig import parse_bls, parse_grub2_cfg
from imgtools.inspect.parse.fstab import parse_fstab
from imgtools.inspect.parse.kconfig import parse_kernel_config
from imgtools.inspect.parse.modules import CATALOGUE

V = "6.1.0-13-amd64"
VIRTIO_MODULES = ["virtio", "virtio_ring", "virtio_pci", "virtio_blk", "virtio_scsi", "virtio_net"]


def ko(name: str, prefix: str = f"usr/lib/modules/{V}/kernel/drivers") -> str:
    return f"{prefix}/{name}.ko"


# -- module_states --

def test_debian_virtio_in_initramfs():
    config = parse_kernel_config("CONFIG_VIRTIO=m\nCONFIG_VIRTIO_BLK=m\n# CONFIG_XEN_VBD is not set\nCONFIG_HYPERV=m\n")
    states = module_states({f"/lib/modules/{V}/kernel/drivers/block/virtio_blk.ko", "virtio", "hv_vmbus"},
                           config, set(), [ko("virtio_blk"), ko("virtio"), "etc/hostname"])
    assert set(states) == set(CATALOGUE)
    assert states["virtio_blk"] == ModuleState(on_disk=True, in_initramfs=True)
    assert states["virtio"] == ModuleState(on_disk=True, in_initramfs=True)
    assert states["hv_vmbus"] == ModuleState(on_disk=True)
    assert states["virtio_net"] == ModuleState()   # =m but no .ko: not on disk


def test_builtin_from_config_or_modules_builtin():
    config = {"CONFIG_VIRTIO": "y", "CONFIG_VIRTIO_PCI": "y", "CONFIG_XEN_PVHVM": "y", "CONFIG_VIRTIO_NET": "m"}
    states = module_states(set(), config, {"virtio_blk", "xen-blkfront"}, None)
    assert states["virtio"].builtin and states["virtio_ring"].builtin and states["virtio_pci"].builtin
    assert states["virtio_blk"].builtin and states["xen_blkfront"].builtin
    assert states["xen_platform_pci"].builtin          # via CONFIG_XEN_PVHVM
    assert not states["virtio_net"].builtin
    assert not any(s.in_initramfs for s in states.values())


@pytest.mark.parametrize("member, found", [
    (f"usr/lib/modules/{V}/kernel/drivers/block/virtio_blk.ko", True),
    (f"lib/modules/{V}/kernel/drivers/block/virtio_blk.ko.xz", True),
    (f"./lib/modules/{V}/kernel/drivers/block/virtio_blk.ko.zst", True),
    ("usr/share/doc/virtio_blk.ko", False),
    (f"lib/modules/{V}/modules.dep", False),
])
def test_initramfs_modules(member, found):
    assert ("virtio_blk" in initramfs_modules([member])) is found


# -- driver_summary --

def kernel(**states: ModuleState) -> Kernel:
    return Kernel(version=V, path=f"/boot/vmlinuz-{V}", modules=states)


READY = ModuleState(on_disk=True, in_initramfs=True)
ON_DISK = ModuleState(on_disk=True)
BUILTIN = ModuleState(builtin=True)


def test_all_virtio_in_initramfs_is_ready():
    drivers = driver_summary(kernel(**{m: READY for m in VIRTIO_MODULES}))
    assert (drivers.virtio.blk, drivers.virtio.scsi, drivers.virtio.net) == ("ready", "ready", "ready")
    assert (drivers.xen.blk, drivers.xen.net) == ("absent", "absent")
    assert drivers.hyperv.storage == "absent"


def test_virtio_on_disk_only_is_installed():
    drivers = driver_summary(kernel(**{m: ON_DISK for m in VIRTIO_MODULES}))
    assert (drivers.virtio.blk, drivers.virtio.net) == ("installed", "installed")


def test_a_missing_transport_makes_the_driver_installed_or_absent():
    modules = {m: READY for m in VIRTIO_MODULES}
    assert driver_summary(kernel(**{**modules, "virtio_pci": ON_DISK})).virtio.blk == "installed"
    del modules["virtio_ring"]
    assert driver_summary(kernel(**modules)).virtio.blk == "absent"


def test_builtin_transports_with_blk_in_initramfs():
    drivers = driver_summary(kernel(virtio=BUILTIN, virtio_ring=BUILTIN, virtio_pci=BUILTIN,
                                    virtio_blk=READY, virtio_net=ON_DISK))
    assert drivers.virtio.blk == "ready" and drivers.virtio.net == "installed" and drivers.virtio.scsi == "absent"


@pytest.mark.parametrize("modules, blk, net", [
    ({"xen_blkfront": READY, "xen_netfront": ON_DISK}, "ready", "installed"),
    ({"xen_vbd": READY, "xen_vnif": READY}, "ready", "ready"),          # old SUSE
    ({"xen_blkfront": ON_DISK, "xen_vbd": READY}, "ready", "absent"),   # best alternative
    ({}, "absent", "absent"),
])
def test_xen(modules, blk, net):
    drivers = driver_summary(kernel(**modules))
    assert (drivers.xen.blk, drivers.xen.net) == (blk, net)


def test_hyperv_needs_vmbus():
    drivers = driver_summary(kernel(hv_vmbus=ON_DISK, hv_storvsc=READY, hv_netvsc=READY))
    assert (drivers.hyperv.vmbus, drivers.hyperv.storage, drivers.hyperv.net) == ("installed", "installed", "installed")
    drivers = driver_summary(kernel(hv_vmbus=BUILTIN, hv_storvsc=READY, hv_netvsc=ON_DISK))
    assert (drivers.hyperv.vmbus, drivers.hyperv.storage, drivers.hyperv.net) == ("ready", "ready", "installed")


def test_no_kernel_is_all_absent():
    drivers = driver_summary(None)
    assert drivers.virtio.blk == drivers.xen.net == drivers.hyperv.vmbus == "absent"


def test_states_end_to_end_from_parsers():
    """A RHEL-like kernel: transports built in, blk as a module inside the dracut image, net on disk only."""
    config = parse_kernel_config("CONFIG_VIRTIO=y\nCONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO_BLK=m\nCONFIG_VIRTIO_NET=m\n")
    states = module_states({"virtio_blk.ko.xz", "virtio_net.ko.xz"}, config, set(),
                           [ko("virtio_blk", "usr/lib/modules/5.14.0-70.el9.x86_64/kernel/drivers/block") + ".xz"])
    drivers = driver_summary(Kernel(version="5.14.0-70.el9.x86_64", path="/boot/vmlinuz-5.14.0-70.el9.x86_64", modules=states))
    assert (drivers.virtio.blk, drivers.virtio.net, drivers.virtio.scsi) == ("ready", "installed", "absent")


# -- firmware --

def part(type_id: str | None, number: int = 1) -> Partition:
    return Partition(device=f"/dev/sda{number}", number=number, type_id=type_id)


LINUX_FS = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"


@pytest.mark.parametrize("table, partitions, expected", [
    ("gpt", [part(ESP_GUID.upper()), part(LINUX_FS, 2)], "uefi"),
    ("gpt", [part(ESP_GUID), part(BIOS_BOOT_GUID, 2), part(LINUX_FS, 3)], "bios"),   # hybrid
    ("gpt", [part(BIOS_BOOT_GUID), part(LINUX_FS, 2)], "bios"),
    ("gpt", [part(LINUX_FS)], "unknown"),
    ("mbr", [part("0x83")], "bios"),
    ("mbr", [part("0xef"), part("0x83", 2)], "bios"),
    ("mbr", [], "bios"),
    ("none", [], "unknown"),
])
def test_firmware(table, partitions, expected):
    assert firmware(table, partitions) == expected


def test_firmware_looks_at_the_first_disk_only():
    second_disk_esp = Partition(device="/dev/sdb1", disk_index=1, number=1, type_id=ESP_GUID)
    assert firmware("gpt", [part(BIOS_BOOT_GUID), second_disk_esp]) == "bios"
    assert firmware("gpt", [part(LINUX_FS), second_disk_esp]) == "unknown"


# -- linux_summary --

def fstab(text: str) -> list[FstabEntry]:
    return parse_fstab(text)


@pytest.mark.parametrize("text, expected", [
    ("UUID=a / ext4 defaults 0 1\nUUID=b none swap sw 0 0\n", True),
    ("/dev/mapper/rhel-root / xfs defaults 0 0\nUUID=b /boot xfs defaults 0 0\n/dev/mapper/rhel-swap swap swap defaults 0 0\n", True),
    ("PARTUUID=5f0e-01 / ext4 defaults 0 1\n", True),
    ("/dev/sda1 / ext4 defaults 0 1\n", False),
    ("LABEL=root / ext4 defaults 0 1\n", False),
    ("/dev/disk/by-id/ata-VBOX-part1 / ext4 defaults 0 1\n", False),
    ("UUID=a / ext4 defaults 0 1\n/dev/sdb1 /data xfs defaults,nofail 0 2\n", True),
    ("UUID=a / ext4 defaults 0 1\n/dev/sr0 /media/cdrom udf,iso9660 user,noauto 0 0\n", True),
    ("UUID=a / ext4 defaults 0 1\n/dev/sda2 none swap sw 0 0\n", True),
    ("UUID=a / ext4 defaults 0 1\nproc /proc proc defaults 0 0\ntmpfs /tmp tmpfs defaults 0 0\n"
     "nas:/export /mnt/nas nfs defaults 0 0\n/srv/a /var/a none bind 0 0\n", True),
    ("UUID=a / ext4 defaults 0 1\nrpool/home /home zfs defaults 0 0\noverlay /merged overlay lowerdir=/a 0 0\n", True),
    ("", True),
])
def test_fstab_by_uuid(text, expected):
    assert fstab_by_uuid(fstab(text)) is expected


def interface(name: str, method: str, onboot: bool | None = None) -> NetInterface:
    return NetInterface(name=name, source=f"/etc/sysconfig/network-scripts/ifcfg-{name}", config_system="ifcfg",
                        method=method, onboot=onboot)


@pytest.mark.parametrize("interfaces, dhcp", [
    ([interface("eth0", "dhcp")], True),
    ([interface("eth0", "static"), interface("eth1", "dhcp")], False),
    ([interface("lo", "static"), interface("eth0", "dhcp")], True),
    ([interface("eth0", "manual"), interface("bond0", "dhcp")], True),   # a bond slave is not the primary
    ([interface("eth0", "unknown")], False),
    ([interface("eth0", "dhcp", onboot=False)], False),                  # ONBOOT=no: no network at all
    ([interface("eth0", "static", onboot=False), interface("eth1", "dhcp", onboot=True)], True),
    ([], False),
])
def test_linux_summary_dhcp(interfaces, dhcp):
    assert linux_summary(LinuxFacts(network=Network(interfaces=interfaces))).dhcp is dhcp


def test_linux_summary_all_fields():
    linux = LinuxFacts(
        fstab=[FstabEntry(spec=DeviceSpec(raw="/dev/sda1", kind="device"), mountpoint="/", fstype="ext4")],
        network=Network(interfaces=[interface("eth0", "dhcp")], udev_net_rules_in_initramfs=["etc/udev/rules.d/70-persistent-net.rules"]),
        cloud_init=CloudInit(installed=True),
    )
    summary = linux_summary(linux)
    assert (summary.fstab_by_uuid, summary.udev_net_rules, summary.dhcp, summary.cloud_init) == (False, True, True, True)
    empty = linux_summary(LinuxFacts())
    assert (empty.fstab_by_uuid, empty.udev_net_rules, empty.dhcp, empty.cloud_init) == (True, False, False, False)


# -- default_kernel --

KERNELS = [
    Kernel(version="5.10.0-26-amd64", path="/boot/vmlinuz-5.10.0-26-amd64"),
    Kernel(version="6.1.0-13-amd64", path="/boot/vmlinuz-6.1.0-13-amd64"),
    Kernel(version="6.1.0-9-amd64", path="/boot/vmlinuz-6.1.0-9-amd64"),
]


def grub(kernel_path: str) -> str:
    return f"set default=0\nmenuentry 'Linux' {{\n linux {kernel_path} root=UUID=a ro\n}}\n"


@pytest.mark.parametrize("boot, expected", [
    (None, "6.1.0-13-amd64"),                                            # newest, naturally ordered
    (parse_grub2_cfg(grub("/boot/vmlinuz-5.10.0-26-amd64")), "5.10.0-26-amd64"),
    (parse_grub2_cfg(grub("/vmlinuz-6.1.0-9-amd64")), "6.1.0-9-amd64"),  # separate /boot
    (parse_grub2_cfg(grub("/vmlinuz")), "6.1.0-13-amd64"),               # symlink: newest
    (parse_grub2_cfg(""), "6.1.0-13-amd64"),
    (parse_bls([("/boot/loader/entries/x-5.10.0-26-amd64.conf",
                 "title x\nversion 5.10.0-26-amd64\nlinux /vmlinuz-5.10.0-26-amd64\n")]), "5.10.0-26-amd64"),
])
def test_default_kernel(boot, expected):
    assert default_kernel(KERNELS, boot) == expected


def test_default_kernel_alpine_suffix_and_none():
    alpine = [Kernel(version="6.6.7-0-lts", path="/boot/vmlinuz-lts-renamed"), Kernel(version="6.6.7-0-virt", path="/boot/x")]
    boot = parse_grub2_cfg(grub("/boot/vmlinuz-virt"))
    assert default_kernel(alpine, boot) == "6.6.7-0-virt"
    assert default_kernel([], boot) is None
