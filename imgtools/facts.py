"""The facts document: everything known about one image, and nothing else.

Probe and inspection write it; checks read only it (never the appliance), so a
facts document cached as JSON can be re-checked against any profile in
milliseconds.  Bump :data:`SCHEMA_VERSION` whenever a field changes meaning or
is removed; caches of another version are ignored.

The top level follows the public contract of ``imgtools inspect --json``:
``image``, ``guest``, ``boot``, ``drivers``, ``linux`` are short summaries that
other tools rely on; ``facts`` holds the detail.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .imagefacts import ImageFacts

SCHEMA_VERSION = 1

DriverState = Literal["ready", "installed", "absent"]
Firmware = Literal["bios", "uefi", "unknown"]
PartitionTable = Literal["mbr", "gpt", "none"]
SpecKind = Literal["uuid", "label", "partuuid", "partlabel", "device", "by_id", "by_path", "lvm", "other"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


# -- guest summaries (the contract) --

class Guest(Model):
    """libguestfs' vocabulary: type linux|windows|…, distro debian|rhel|ubuntu|sles|…"""

    type: str = "unknown"
    distro: str = "unknown"
    major_version: int = 0
    minor_version: int = 0
    arch: str = "unknown"
    product_name: str = ""
    hostname: str = ""
    package_format: str = "unknown"
    package_management: str = "unknown"


class DeviceSpec(Model):
    """How a configuration names a device (fstab first field, root=)."""

    raw: str
    kind: SpecKind


class Partition(Model):
    device: str
    disk_index: int = 0
    number: int | None = None
    size: int = 0
    fstype: str | None = None
    uuid: str | None = None
    label: str | None = None
    #: GPT type GUID, or MBR type byte as "0x83".
    type_id: str | None = None
    mountpoint: str | None = None


class Boot(Model):
    firmware: Firmware = "unknown"
    partition_table: PartitionTable = "none"
    #: grub, grub2, syslinux, extlinux, systemd-boot, windows, none, unknown
    bootloader: str = "unknown"
    config_paths: list[str] = Field(default_factory=list)
    default_kernel: str | None = None
    cmdline: str | None = None
    root_spec: DeviceSpec | None = None
    console: list[str] = Field(default_factory=list)
    resume: str | None = None
    #: Partitions holding /, /boot and the ESP are all on the first disk.
    boot_on_system_disk: bool | None = None
    has_esp: bool = False
    has_bios_boot: bool = False
    partitions: list[Partition] = Field(default_factory=list)


class VirtioDrivers(Model):
    blk: DriverState = "absent"
    scsi: DriverState = "absent"
    net: DriverState = "absent"


class XenDrivers(Model):
    blk: DriverState = "absent"
    net: DriverState = "absent"


class HypervDrivers(Model):
    vmbus: DriverState = "absent"
    storage: DriverState = "absent"
    net: DriverState = "absent"


class Drivers(Model):
    virtio: VirtioDrivers = Field(default_factory=VirtioDrivers)
    xen: XenDrivers = Field(default_factory=XenDrivers)
    hyperv: HypervDrivers = Field(default_factory=HypervDrivers)


class LinuxSummary(Model):
    fstab_by_uuid: bool
    udev_net_rules: bool
    dhcp: bool
    cloud_init: bool


# -- detail --

class ModuleState(Model):
    """One kernel driver for one kernel."""

    builtin: bool = False        # CONFIG_…=y in /boot/config-<ver> or modules.builtin
    on_disk: bool = False        # .ko file under /lib/modules/<ver>
    in_initramfs: bool = False   # .ko inside that kernel's initramfs


class Kernel(Model):
    version: str
    path: str
    initramfs: str | None = None
    #: The initramfs exists and its archive could be read (all segments).
    initramfs_readable: bool = False
    initramfs_compression: str | None = None
    is_default: bool = False
    #: Module name (underscores) -> state; every driver imgtools cares about is listed.
    modules: dict[str, ModuleState] = Field(default_factory=dict)


class FstabEntry(Model):
    spec: DeviceSpec
    mountpoint: str
    fstype: str
    options: list[str] = Field(default_factory=list)
    nofail: bool = False
    #: The device resolves to a partition of the system disk (None: unknown).
    on_system_disk: bool | None = None


class NetInterface(Model):
    name: str
    source: str                      # the file it was read from
    config_system: Literal["ifcfg", "netplan", "interfaces", "networkmanager", "networkd", "wicked"]
    method: Literal["dhcp", "static", "manual", "unknown"] = "unknown"
    mac: str | None = None           # MAC pinned by the configuration
    #: The configuration brings the interface up at boot (ONBOOT, STARTMODE, auto,
    #: autoconnect); None when the file does not say.
    onboot: bool | None = None


class Network(Model):
    interfaces: list[NetInterface] = Field(default_factory=list)
    udev_net_rules: list[str] = Field(default_factory=list)
    udev_net_rules_in_initramfs: list[str] = Field(default_factory=list)
    nozeroconf: bool | None = None


class CloudInit(Model):
    installed: bool = False
    version: str | None = None
    datasources: list[str] | None = None
    metadata_urls: list[str] = Field(default_factory=list)
    network_config_disabled: bool | None = None


class Service(Model):
    installed: bool = False
    enabled: bool | None = None


class Usage(Model):
    mountpoint: str
    device: str
    fstype: str | None = None
    size: int = 0
    free: int = 0
    inodes: int = 0
    free_inodes: int = 0


class VolumeGroup(Model):
    name: str
    physical_volumes: list[str] = Field(default_factory=list)
    disks: list[int] = Field(default_factory=list)
    logical_volumes: list[str] = Field(default_factory=list)


class Storage(Model):
    volume_groups: list[VolumeGroup] = Field(default_factory=list)
    root_on_lvm: bool = False
    #: The volume group holding / has physical volumes on more than one disk.
    root_spans_disks: bool = False
    luks_devices: list[str] = Field(default_factory=list)
    filesystems: list[Usage] = Field(default_factory=list)
    root_fstype: str | None = None


class LinuxFacts(Model):
    initramfs_tool: Literal["dracut", "initramfs-tools", "mkinitrd", "unknown"] = "unknown"
    kernels: list[Kernel] = Field(default_factory=list)
    fstab: list[FstabEntry] = Field(default_factory=list)
    network: Network = Field(default_factory=Network)
    cloud_init: CloudInit = Field(default_factory=CloudInit)
    ssh_server: Service = Field(default_factory=Service)
    #: Other platforms' guest tools found: vmware-tools, open-vm-tools,
    #: virtualbox-additions, hyperv-daemons, xe-guest-utilities, qemu-guest-agent…
    guest_tools: list[str] = Field(default_factory=list)
    selinux: Literal["enforcing", "permissive", "disabled", "absent"] = "absent"


class WindowsDriver(Model):
    name: str
    service: bool = False               # Services\<name> exists
    start: int | None = None            # 0 boot, 1 system, 2 auto, 3 demand, 4 disabled
    image_path: str | None = None
    file_exists: bool = False
    version: str | None = None
    in_driver_database: bool = False
    in_critical_device_database: bool = False


class WindowsFacts(Model):
    product_name: str = ""
    version: str = ""
    edition: str | None = None
    build: str | None = None
    arch: str = "unknown"
    systemroot: str = ""
    current_control_set: str = "ControlSet001"
    drivers: dict[str, WindowsDriver] = Field(default_factory=dict)
    cloudbase_init: bool = False
    rdp_enabled: bool | None = None
    dhcp: bool | None = None
    hibernation: bool | None = None
    fast_startup: bool | None = None
    bitlocker: bool | None = None
    sysprep_state: str | None = None
    guest_tools: list[str] = Field(default_factory=list)


class Inspection(Model):
    """How the facts were gathered."""

    backend: Literal["kvm", "tcg", "none"] = "none"
    seconds: float = 0.0
    libguestfs_version: str | None = None
    #: The uncompressed PVH kernel the appliance booted (imgtools.inspect.kernel); None: libguestfs' default.
    appliance_kernel: str | None = None
    #: Who found the operating system: imgtools' own Linux probe, or libguestfs' inspect_os.
    os_detected_by: Literal["imgtools", "libguestfs"] | None = None
    warnings: list[str] = Field(default_factory=list)


class Details(Model):
    disks: int = 1
    storage: Storage = Field(default_factory=Storage)
    linux: LinuxFacts | None = None
    windows: WindowsFacts | None = None
    inspection: Inspection = Field(default_factory=Inspection)


class Facts(Model):
    schema_version: int = SCHEMA_VERSION
    imgtools_version: str = ""
    image: ImageFacts
    #: None when the image was not inspected (unsafe, or probe-only).
    guest: Guest | None = None
    boot: Boot | None = None
    drivers: Drivers | None = None
    linux: LinuxSummary | None = None
    facts: Details = Field(default_factory=Details)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Facts":
        return cls.model_validate_json(text)
