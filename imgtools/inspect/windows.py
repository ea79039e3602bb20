"""Windows guest facts, read from the SYSTEM and SOFTWARE hives through libguestfs' hivex calls.

The caller has launched the appliance, run ``inspect_os`` and mounted the
guest read-only; :func:`gather_windows` only reads.  A value that cannot be
read becomes a warning, never an exception: a half-known Windows guest is
still worth reporting.

Driver states (the ``drivers`` summary):

* a storage driver (viostor, vioscsi, xenvbd, storvsc, …) is ``ready`` when
  its service is boot-start (``Start`` = 0) *and* its ``.sys`` file exists:
  only then does Windows load it before it needs the system disk;
* a network driver (netkvm, xennet, netvsc) is ``ready`` when its service
  exists, is not disabled (``Start`` 0–3) and its file exists: Plug and Play
  loads it after boot;
* otherwise ``installed`` when any trace is there (a service key, the driver
  store's DriverDatabase, the pre-Windows 8 CriticalDeviceDatabase, or the
  file), else ``absent``.

A driver's version is the newest of those the registry records: the driver
store's package ``Version`` (DriverDatabase, Windows 8 and later) and the
``DriverVersion`` of devices bound to it (Control\\Class, every version), so
an old virtio-win build shows.  BitLocker is reported from the volume header
of every partition (``-FVE-FS-``) and Windows' BitLockerStatus flag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from imgtools.facts import Boot, Drivers, DriverState, Guest, WindowsDriver, WindowsFacts
from imgtools.inspect.parse.registry import (
    DriverVersion,
    as_bool,
    as_int,
    as_text,
    driver_version,
    image_path_to_guest,
)

FVE_SIGNATURE = b"-FVE-FS-"
FVE_OFFSET = 3
#: Sysprep's GeneralizationState once generalisation completed (and on any normally installed system).
GENERALIZED = 7
DEFAULT_SYSTEMROOT = "/Windows"
#: Device setup classes whose devices record the bound driver's version (Control\\Class\\{…}\\NNNN):
#: SCSI adapters, network adapters, system devices.
DEVICE_CLASSES = (
    "{4d36e97b-e325-11ce-bfc1-08002be10318}",
    "{4d36e972-e325-11ce-bfc1-08002be10318}",
    "{4d36e97d-e325-11ce-bfc1-08002be10318}",
)


# -- what we look for --

@dataclass(frozen=True)
class DriverSpec:
    """A Windows driver imgtools cares about, and where the ``drivers`` summary shows it."""

    name: str
    #: ("virtio", "blk") → Drivers.virtio.blk; None for drivers outside the summary.
    summary: tuple[str, str] | None
    #: Needed to reach the system disk, so it must be boot-start to be ready.
    storage: bool
    #: Plug and Play hardware ids the driver binds to (DriverDatabase, CriticalDeviceDatabase).
    device_ids: tuple[str, ...] = ()


DRIVERS: tuple[DriverSpec, ...] = (
    DriverSpec("viostor", ("virtio", "blk"), True, ("PCI\\VEN_1AF4&DEV_1001", "PCI\\VEN_1AF4&DEV_1042")),
    DriverSpec("vioscsi", ("virtio", "scsi"), True, ("PCI\\VEN_1AF4&DEV_1004", "PCI\\VEN_1AF4&DEV_1048")),
    DriverSpec("netkvm", ("virtio", "net"), False, ("PCI\\VEN_1AF4&DEV_1000", "PCI\\VEN_1AF4&DEV_1041")),
    DriverSpec("balloon", None, False, ("PCI\\VEN_1AF4&DEV_1002", "PCI\\VEN_1AF4&DEV_1045")),
    DriverSpec("xenbus", None, True, ("PCI\\VEN_5853&DEV_0001", "PCI\\VEN_5853&DEV_0002", "PCI\\VEN_5853&DEV_C000")),
    DriverSpec("xenvbd", ("xen", "blk"), True,
               ("XENBUS\\VEN_XS0001&DEV_VBD", "XENBUS\\VEN_XS0002&DEV_VBD", "XENBUS\\VEN_XSC000&DEV_VBD")),
    DriverSpec("xennet", ("xen", "net"), False,
               ("XENVIF\\VEN_XS0001&DEV_NET", "XENVIF\\VEN_XS0002&DEV_NET", "XENVIF\\VEN_XSC000&DEV_NET")),
    DriverSpec("xeniface", None, False, ("XENBUS\\VEN_XS0001&DEV_IFACE", "XENBUS\\VEN_XSC000&DEV_IFACE")),
    DriverSpec("vmbus", ("hyperv", "vmbus"), True, ("ACPI\\VMBUS",)),
    DriverSpec("storvsc", ("hyperv", "storage"), True, ("VMBUS\\{BA6163D9-04A1-4D29-B605-72E2FFB1DC7F}",)),
    DriverSpec("netvsc", ("hyperv", "net"), False, ("VMBUS\\{F8615163-DF3E-46C5-913F-F2D2F965ED0E}",)),
)


@dataclass(frozen=True)
class GuestTool:
    """Another platform's guest tools: found by a SOFTWARE key or an installed service."""

    name: str
    software_keys: tuple[str, ...] = ()
    services: tuple[str, ...] = ()


GUEST_TOOLS: tuple[GuestTool, ...] = (
    GuestTool("vmware-tools", ("VMware, Inc.\\VMware Tools",), ("VMTools",)),
    GuestTool("virtualbox-additions", ("Oracle\\VirtualBox Guest Additions",), ("VBoxService",)),
    GuestTool("xenserver-tools", ("Citrix\\XenTools", "XenServer\\XenTools"), ("xensvc", "XenAgent")),
    GuestTool("uvp-vmtools", ("Huawei\\UVP VMTools", "Huawei\\UVP"), ("uvp-monitor",)),
    GuestTool("hyperv-integration", (), ("vmicheartbeat",)),
    GuestTool("qemu-guest-agent", (), ("QEMU-GA",)),
)

CLOUDBASE_INIT = GuestTool("cloudbase-init", ("Cloudbase Solutions\\Cloudbase-Init",), ("cloudbase-init",))


@dataclass
class WindowsResult:
    """Everything one Windows root yields; ``warnings`` name what could not be read."""

    guest: Guest
    windows: WindowsFacts
    drivers: Drivers
    boot: Boot
    warnings: list[str] = field(default_factory=list)


# -- driver states (pure) --

def driver_state(driver: WindowsDriver, storage: bool) -> DriverState:
    """The rule in the module docstring."""
    if driver.service and driver.file_exists and driver.start is not None:
        if driver.start == 0 or (not storage and driver.start <= 3):
            return "ready"
    present = driver.service or driver.file_exists or driver.in_driver_database or driver.in_critical_device_database
    return "installed" if present else "absent"


def summarize_drivers(drivers: dict[str, WindowsDriver]) -> Drivers:
    """The contract's ``drivers`` summary from the per-driver facts."""
    summary = Drivers()
    for spec in DRIVERS:
        if spec.summary and spec.name in drivers:
            family, role = spec.summary
            setattr(getattr(summary, family), role, driver_state(drivers[spec.name], spec.storage))
    return summary


def sysprep_state(setup_in_progress: bool | None, generalization_state: int | None) -> str | None:
    """``pending-oobe``: generalised, Windows runs setup at first boot (what a cloud image wants);
    ``incomplete``: sysprep started but did not finish; ``none``: an ordinary installed system."""
    if setup_in_progress:
        return "pending-oobe"
    if generalization_state is not None and generalization_state != GENERALIZED:
        return "incomplete"
    if setup_in_progress is None and generalization_state is None:
        return None
    return "none"


# -- reading a hive through libguestfs --

class _Hive:
    """One hive opened read-only in the appliance; every failure becomes a warning."""

    def __init__(self, g, path: str, warnings: list[str]):
        self.g, self.path, self.warnings = g, path, warnings
        self.root: int | None = None

    def __enter__(self) -> "_Hive":
        try:
            self.g.hivex_open(self.path, write=False)
            self.root = self.g.hivex_root()
        except RuntimeError as exc:
            self.warn(f"cannot open hive {self.path}: {exc}")
        return self

    def __exit__(self, *exc_info) -> None:
        if self.root is not None:
            try:
                self.g.hivex_close()
            except RuntimeError:
                pass

    def warn(self, message: str) -> None:
        self.warnings.append(message.strip().splitlines()[0])

    def node(self, path: str) -> int | None:
        """The node at a backslash path from the root (case-insensitive), or None."""
        return self.child(self.root, path)

    def child(self, node: int | None, path: str) -> int | None:
        """The node at a backslash path below ``node``, or None (also when ``node`` is None)."""
        for part in filter(None, path.split("\\")):
            if not node:
                return None
            try:
                node = self.g.hivex_node_get_child(node, part)
            except RuntimeError as exc:
                self.warn(f"{self.path}: cannot read key {path}: {exc}")
                return None
        return node or None

    def raw(self, node: int | None, name: str) -> tuple[int, bytes] | None:
        """(type, bytes) of a value, or None when the key or value is missing."""
        if not node:
            return None
        try:
            value = self.g.hivex_node_get_value(node, name)
            if not value:
                return None
            return self.g.hivex_value_type(value), self.g.hivex_value_value(value)
        except RuntimeError as exc:
            self.warn(f"{self.path}: cannot read value {name}: {exc}")
            return None

    def get(self, node: int | None, name: str, convert: Callable[[int, bytes], object]):
        raw = self.raw(node, name)
        return None if raw is None else convert(*raw)

    def children(self, node: int | None) -> list[tuple[str, int]]:
        if not node:
            return []
        try:
            handles = [child["hivex_node_h"] for child in self.g.hivex_node_children(node)]
            return [(self.g.hivex_node_name(handle), handle) for handle in handles]
        except RuntimeError as exc:
            self.warn(f"{self.path}: cannot list subkeys: {exc}")
            return []


# -- gathering --

def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _call(g, warnings: list[str], what: str, default, method: str, *args):
    try:
        return getattr(g, method)(*args)
    except RuntimeError as exc:
        warnings.append(f"cannot read {what}: {_first_line(exc)}")
        return default


def _guest(windows: WindowsFacts, hostname: str) -> Guest:
    """The contract's guest summary in libguestfs' vocabulary, from what the hives said.

    libguestfs derives the same fields from the same registry values; reading
    them here spares a dozen slow ``inspect_get_*`` round trips.
    """
    major, _, minor = windows.version.partition(".")
    return Guest(
        type="windows",
        distro="windows",
        major_version=int(major) if major.isdigit() else 0,
        minor_version=int(minor) if minor.isdigit() else 0,
        arch=windows.arch,
        product_name=windows.product_name,
        hostname=hostname,
    )


def _hive_path(g, root: str, method: str, name: str, systemroot: str, warnings: list[str]) -> str | None:
    try:
        return getattr(g, method)(root)
    except RuntimeError:
        pass
    try:
        path = g.case_sensitive_path(f"{systemroot}/System32/config/{name}")
        if g.is_file(path):
            return path
    except RuntimeError:
        pass
    warnings.append(f"no {name} hive under {systemroot}/System32/config")
    return None


class _Files:
    """Existence checks by directory listing: one ``ls`` answers for every driver in System32\\drivers."""

    def __init__(self, g):
        self.g = g
        self.listings: dict[str, set[str] | None] = {}

    def exists(self, path: str | None) -> bool:
        """Whether ``path`` exists in the guest, compared case-insensitively as NTFS under Windows does."""
        if not path:
            return False
        folder, _, name = path.rpartition("/")
        if folder not in self.listings:
            self.listings[folder] = self._list(folder or "/")
        names = self.listings[folder]
        return names is not None and name.lower() in names

    def _list(self, folder: str) -> set[str] | None:
        try:
            return {entry.lower() for entry in self.g.ls(self.g.case_sensitive_path(folder))}
        except RuntimeError:
            return None


@dataclass
class _DriverTraces:
    """Where drivers leave traces in the SYSTEM hive and on disk, looked up once per guest."""

    hive: _Hive
    services: int | None
    #: DriverDatabase\\DriverPackages by INF name ("viostor" for "viostor.inf_amd64_…").
    packages: dict[str, list[int]]
    device_ids: int | None
    #: Control\\CriticalDeviceDatabase subkeys, lower-case names ("pci#ven_1af4&dev_1001…").
    critical: list[tuple[str, int]]
    #: (MatchingDeviceId in lower case, DriverVersion) of the devices in Control\\Class.
    bound: list[tuple[str, DriverVersion]]
    files: _Files
    systemroot: str

    @classmethod
    def read(cls, g, hive: _Hive, control_set: int | None, systemroot: str) -> "_DriverTraces":
        packages: dict[str, list[int]] = {}
        for name, handle in hive.children(hive.node("DriverDatabase\\DriverPackages")):
            packages.setdefault(name.lower().partition(".inf_")[0], []).append(handle)
        critical = hive.children(hive.child(control_set, "Control\\CriticalDeviceDatabase"))
        bound = []
        for device_class in DEVICE_CLASSES:
            for _, device in hive.children(hive.child(control_set, f"Control\\Class\\{device_class}")):
                matching = hive.get(device, "MatchingDeviceId", as_text)
                version = hive.get(device, "DriverVersion", driver_version)
                if matching and version:
                    bound.append((matching.lower(), version))
        return cls(
            hive=hive,
            services=hive.child(control_set, "Services"),
            packages=packages,
            device_ids=hive.node("DriverDatabase\\DeviceIds"),
            critical=[(name.lower(), handle) for name, handle in critical],
            bound=bound,
            files=_Files(g),
            systemroot=systemroot,
        )

    def driver(self, spec: DriverSpec) -> WindowsDriver:
        hive = self.hive
        service = hive.child(self.services, spec.name)
        image_path = hive.get(service, "ImagePath", as_text)
        packages = self.packages.get(spec.name, [])
        ids = tuple(device_id.lower() for device_id in spec.device_ids)
        versions = [v for v in (hive.get(package, "Version", driver_version) for package in packages) if v]
        versions += [version for matching, version in self.bound if matching.startswith(ids)]
        newest = max(versions, key=lambda v: v.numbers, default=None)
        prefixes = tuple(device_id.replace("\\", "#") for device_id in ids)
        return WindowsDriver(
            name=spec.name,
            service=service is not None,
            start=hive.get(service, "Start", as_int),
            image_path=image_path,
            file_exists=self.files.exists(image_path_to_guest(image_path, self.systemroot, spec.name)),
            version=newest.version if newest else None,
            in_driver_database=bool(packages) or any(
                hive.child(self.device_ids, device_id) for device_id in spec.device_ids
            ),
            in_critical_device_database=any(
                (hive.get(handle, "Service", as_text) or "").lower() == spec.name
                for name, handle in self.critical if name.startswith(prefixes)
            ),
        )


def _dhcp(hive: _Hive, control_set: int | None) -> bool | None:
    """True when any interface uses DHCP; None when no interface is configured."""
    interfaces = hive.children(hive.child(control_set, "Services\\Tcpip\\Parameters\\Interfaces"))
    flags = [hive.get(handle, "EnableDHCP", as_bool) for _, handle in interfaces]
    known = [flag for flag in flags if flag is not None]
    return any(known) if known else None


def bitlocker_state(volume_headers: list[bytes], boot_status: int | None) -> bool | None:
    """True when a volume starts with BitLocker's header (``-FVE-FS-`` at byte 3) or Windows
    records a non-zero BitLocker boot status; None when neither could be read."""
    if any(header[FVE_OFFSET:FVE_OFFSET + len(FVE_SIGNATURE)] == FVE_SIGNATURE for header in volume_headers):
        return True
    if boot_status:
        return True
    if volume_headers or boot_status is not None:
        return False
    return None


def _bitlocker(g, hive: _Hive, control: int | None, warnings: list[str]) -> bool | None:
    """Reads the first bytes of every partition (cheap: one small pread each) and the registry flag."""
    headers = []
    for partition in _call(g, warnings, "the partition list", [], "list_partitions"):
        try:
            headers.append(g.pread_device(partition, FVE_OFFSET + len(FVE_SIGNATURE), 0))
        except RuntimeError as exc:
            warnings.append(f"cannot read the volume header of {partition}: {_first_line(exc)}")
    return bitlocker_state(headers, hive.get(hive.child(control, "BitLockerStatus"), "BootStatus", as_int))


ALL_TOOLS = GUEST_TOOLS + (CLOUDBASE_INIT,)


def _hostname(system: _Hive, control_set: int | None) -> str:
    """TCP/IP's host name, else the NetBIOS computer name (libguestfs' order)."""
    return (system.get(system.child(control_set, "Services\\Tcpip\\Parameters"), "Hostname", as_text)
            or system.get(system.child(control_set, "Control\\ComputerName\\ComputerName"), "ComputerName", as_text)
            or "")


def _read_system(g, system: _Hive, windows: WindowsFacts,
                 warnings: list[str]) -> tuple[dict[str, WindowsDriver], set[str], str]:
    """Fill ``windows`` from the SYSTEM hive; return the drivers, the tools whose service exists, the host name."""
    current = system.get(system.node("Select"), "Current", as_int)
    if current is None:
        warnings.append("SYSTEM hive: no Select\\Current, assuming ControlSet001")
    windows.current_control_set = f"ControlSet{current or 1:03d}"
    control_set = system.node(windows.current_control_set)
    control = system.child(control_set, "Control")
    traces = _DriverTraces.read(g, system, control_set, windows.systemroot)
    drivers = {spec.name: traces.driver(spec) for spec in DRIVERS}
    deny_rdp = system.get(system.child(control, "Terminal Server"), "fDenyTSConnections", as_bool)
    windows.rdp_enabled = None if deny_rdp is None else not deny_rdp
    windows.dhcp = _dhcp(system, control_set)
    windows.hibernation = system.get(system.child(control, "Power"), "HibernateEnabled", as_bool)
    windows.fast_startup = system.get(system.child(control, "Session Manager\\Power"), "HiberbootEnabled", as_bool)
    windows.bitlocker = _bitlocker(g, system, control, warnings)
    setup = system.node("Setup")
    windows.sysprep_state = sysprep_state(
        system.get(setup, "SystemSetupInProgress", as_bool),
        system.get(system.child(setup, "Status\\SysprepStatus"), "GeneralizationState", as_int),
    )
    tools = {tool.name for tool in ALL_TOOLS if any(system.child(traces.services, name) for name in tool.services)}
    return drivers, tools, _hostname(system, control_set)


def _read_software(software: _Hive, windows: WindowsFacts) -> set[str]:
    """Fill the version fields from the SOFTWARE hive; return the tools whose key exists
    (32-bit installers on 64-bit Windows write below WOW6432Node)."""
    _read_version(software, windows)
    return {
        tool.name for tool in ALL_TOOLS
        if any(software.node(prefix + key) for key in tool.software_keys for prefix in ("", "WOW6432Node\\"))
    }


def gather_windows(g, root: str) -> WindowsResult:
    """Facts about the Windows installation at inspection root ``root`` (filesystems already mounted).

    The hives are read one after the other: libguestfs holds one open hive per handle.
    """
    warnings: list[str] = []
    windows = WindowsFacts(
        arch=_call(g, warnings, "the architecture", "unknown", "inspect_get_arch", root),
        systemroot=_call(g, warnings, "the Windows system root", DEFAULT_SYSTEMROOT,
                         "inspect_get_windows_systemroot", root),
    )
    drivers: dict[str, WindowsDriver] = {}
    tools: set[str] = set()
    hostname = ""
    system_path = _hive_path(g, root, "inspect_get_windows_system_hive", "SYSTEM", windows.systemroot, warnings)
    if system_path:
        with _Hive(g, system_path, warnings) as system:
            drivers, tools, hostname = _read_system(g, system, windows, warnings)
    software_path = _hive_path(g, root, "inspect_get_windows_software_hive", "SOFTWARE", windows.systemroot,
                               warnings)
    if software_path:
        with _Hive(g, software_path, warnings) as software:
            tools |= _read_software(software, windows)

    windows.drivers = drivers
    windows.cloudbase_init = CLOUDBASE_INIT.name in tools
    windows.guest_tools = [tool.name for tool in GUEST_TOOLS if tool.name in tools]
    return WindowsResult(
        guest=_guest(windows, hostname),
        windows=windows,
        drivers=summarize_drivers(drivers),
        boot=Boot(bootloader="windows"),
        warnings=warnings,
    )


def _read_version(software: _Hive, windows: WindowsFacts) -> None:
    """ProductName, version (major.minor numbers on Windows 10+, else CurrentVersion), edition, build."""
    current = software.node("Microsoft\\Windows NT\\CurrentVersion")
    if current is None:
        software.warn(f"{software.path or 'SOFTWARE'}: no Microsoft\\Windows NT\\CurrentVersion key")
        return
    windows.product_name = software.get(current, "ProductName", as_text) or ""
    major = software.get(current, "CurrentMajorVersionNumber", as_int)
    minor = software.get(current, "CurrentMinorVersionNumber", as_int)
    windows.version = (f"{major}.{minor}" if major is not None and minor is not None
                       else software.get(current, "CurrentVersion", as_text) or "")
    windows.edition = software.get(current, "EditionID", as_text)
    windows.build = software.get(current, "CurrentBuild", as_text) or software.get(current, "CurrentBuildNumber",
                                                                                    as_text)
