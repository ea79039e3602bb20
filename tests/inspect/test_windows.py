"""Windows facts: the driver-state rules from facts alone, then both Windows-like fixture guests
read through ONE appliance launch (two drives)."""

from __future__ import annotations

import pytest

from imgtools.facts import Drivers, WindowsDriver
from imgtools.inspect.windows import DRIVERS, bitlocker_state, driver_state, summarize_drivers, sysprep_state


# -- rules, no appliance --

class TestDriverState:
    def test_storage_ready_needs_boot_start_and_file(self):
        assert driver_state(WindowsDriver(name="viostor", service=True, start=0, file_exists=True), True) == "ready"

    @pytest.mark.parametrize("start", [1, 2, 3, 4])
    def test_storage_not_boot_start_is_installed(self, start):
        driver = WindowsDriver(name="viostor", service=True, start=start, file_exists=True)
        assert driver_state(driver, True) == "installed"

    def test_storage_boot_start_without_file_is_installed(self):
        assert driver_state(WindowsDriver(name="vioscsi", service=True, start=0), True) == "installed"

    @pytest.mark.parametrize("start", [0, 1, 2, 3])
    def test_network_ready_when_enabled(self, start):
        driver = WindowsDriver(name="netkvm", service=True, start=start, file_exists=True)
        assert driver_state(driver, False) == "ready"

    def test_network_disabled_is_installed(self):
        assert driver_state(WindowsDriver(name="netkvm", service=True, start=4, file_exists=True), False) == "installed"

    def test_service_without_start_value_is_installed(self):
        assert driver_state(WindowsDriver(name="netkvm", service=True, file_exists=True), False) == "installed"

    @pytest.mark.parametrize(
        "trace", [{"file_exists": True}, {"in_driver_database": True}, {"in_critical_device_database": True}]
    )
    def test_any_trace_is_installed(self, trace):
        assert driver_state(WindowsDriver(name="viostor", **trace), True) == "installed"

    def test_nothing_is_absent(self):
        assert driver_state(WindowsDriver(name="viostor"), True) == "absent"


def test_summary_maps_each_driver_to_its_slot():
    ready = {spec.name: WindowsDriver(name=spec.name, service=True, start=0, file_exists=True) for spec in DRIVERS}
    summary = summarize_drivers(ready)
    assert summary.model_dump() == {
        "virtio": {"blk": "ready", "scsi": "ready", "net": "ready"},
        "xen": {"blk": "ready", "net": "ready"},
        "hyperv": {"vmbus": "ready", "storage": "ready", "net": "ready"},
    }
    assert summarize_drivers({}) == Drivers()


@pytest.mark.parametrize(
    "in_progress, generalization, expected",
    [(True, 7, "pending-oobe"), (False, 7, "none"), (None, 7, "none"), (False, 4, "incomplete"),
     (False, None, "none"), (None, None, None)],
)
def test_sysprep_state(in_progress, generalization, expected):
    assert sysprep_state(in_progress, generalization) == expected


NTFS_HEADER = b"\xebR\x90NTFS    "
BITLOCKER_HEADER = b"\xebX\x90-FVE-FS-"


@pytest.mark.parametrize(
    "headers, boot_status, expected",
    [([NTFS_HEADER, BITLOCKER_HEADER], None, True), ([NTFS_HEADER], 1, True), ([NTFS_HEADER], 0, False),
     ([NTFS_HEADER], None, False), ([], 0, False), ([], None, None), ([b"\xeb"], None, False)],
)
def test_bitlocker_state(headers, boot_status, expected):
    assert bitlocker_state(headers, boot_status) is expected


# -- the fixture guests, one launch --

@pytest.fixture(scope="session")
def windows_guests():
    """{fixture name: (WindowsResult, libguestfs' own view)} for both guests, from one appliance."""
    from fixtures.windows import build
    from imgtools.inspect.session import Drive, open_drives
    from imgtools.inspect.windows import gather_windows

    images = build()
    results = {}
    with open_drives([Drive(str(path), "qcow2") for path in images.values()]) as appliance:
        g = appliance.g
        roots = g.inspect_os()
        assert len(roots) == len(images)
        for name, root in zip(images, sorted(roots)):
            for mountpoint, device in sorted(g.inspect_get_mountpoints(root).items(), key=lambda kv: len(kv[0])):
                g.mount_ro(device, mountpoint)
            libguestfs_view = {
                "type": g.inspect_get_type(root),
                "distro": g.inspect_get_distro(root),
                "major_version": g.inspect_get_major_version(root),
                "minor_version": g.inspect_get_minor_version(root),
                "arch": g.inspect_get_arch(root),
                "product_name": g.inspect_get_product_name(root),
                "hostname": g.inspect_get_hostname(root),
                "current_control_set": g.inspect_get_windows_current_control_set(root),
            }
            results[name] = (gather_windows(g, root), libguestfs_view)
            results[name + "/broken"] = gather_windows(_HivesUnreadable(g), root)
            g.umount_all()
    return results


class _HivesUnreadable:
    """Injects the failure of a damaged hive: every hivex_open raises."""

    def __init__(self, g):
        self._g = g

    def hivex_open(self, *args, **kwargs):
        raise RuntimeError("hivex_open: damaged hive (injected)")

    def __getattr__(self, name):
        return getattr(self._g, name)


@pytest.fixture(scope="session")
def virtio(windows_guests):
    return windows_guests["windows-virtio"]


@pytest.fixture(scope="session")
def xen(windows_guests):
    return windows_guests["windows-xen"]


@pytest.mark.appliance
class TestVirtioGuest:
    def test_guest_matches_libguestfs(self, virtio):
        result, libguestfs = virtio
        assert result.guest.model_dump(include={"type", "distro", "major_version", "minor_version", "arch",
                                                "product_name", "hostname"}) == {
            key: value for key, value in libguestfs.items() if key != "current_control_set"}
        assert result.guest.type == "windows" and result.guest.arch == "x86_64"
        assert (result.guest.major_version, result.guest.minor_version) == (10, 0)
        assert result.guest.hostname == "win-virtio"

    def test_version_facts(self, virtio):
        windows = virtio[0].windows
        assert windows.product_name == "Windows Server 2019 Datacenter"
        assert windows.version == "10.0"
        assert windows.edition == "ServerDatacenter"
        assert windows.build == "17763"
        assert windows.arch == "x86_64"
        assert windows.systemroot == "/Windows"
        assert windows.current_control_set == virtio[1]["current_control_set"] == "ControlSet001"

    def test_driver_summary(self, virtio):
        assert virtio[0].drivers.model_dump() == {
            "virtio": {"blk": "ready", "scsi": "installed", "net": "ready"},
            "xen": {"blk": "absent", "net": "absent"},
            "hyperv": {"vmbus": "ready", "storage": "ready", "net": "ready"},
        }

    def test_driver_details(self, virtio):
        drivers = virtio[0].windows.drivers
        assert drivers["viostor"] == WindowsDriver(
            name="viostor", service=True, start=0, image_path="System32\\drivers\\viostor.sys", file_exists=True,
            version="100.85.104.20800", in_driver_database=True, in_critical_device_database=False)
        # two packages in the driver store: the newest version wins
        assert drivers["vioscsi"].version == "100.85.104.20800" and drivers["vioscsi"].start == 3
        assert drivers["netkvm"].image_path == "System32\\DRIVERS\\netkvm.sys" and drivers["netkvm"].file_exists
        assert drivers["balloon"].start == 3 and drivers["balloon"].version is None
        assert not any(drivers[name].service or drivers[name].file_exists for name in ("xenvbd", "xennet", "xenbus"))

    def test_configuration(self, virtio):
        windows = virtio[0].windows
        assert windows.cloudbase_init is True
        assert windows.rdp_enabled is True
        assert windows.dhcp is True
        assert windows.hibernation is False
        assert windows.fast_startup is False
        assert windows.bitlocker is False
        assert windows.sysprep_state == "none"
        assert windows.guest_tools == ["hyperv-integration", "qemu-guest-agent"]

    def test_boot_and_no_warnings(self, virtio):
        assert virtio[0].boot.bootloader == "windows"
        assert virtio[0].warnings == []


@pytest.mark.appliance
class TestXenGuest:
    def test_guest_matches_libguestfs(self, xen):
        result, libguestfs = xen
        assert (result.guest.major_version, result.guest.minor_version) == (6, 1)
        assert result.guest.product_name == libguestfs["product_name"] == "Windows Server 2008 R2 Standard"
        assert result.guest.hostname == libguestfs["hostname"] == "win-xen"
        assert result.guest.arch == libguestfs["arch"] == "x86_64"

    def test_version_facts(self, xen):
        windows = xen[0].windows
        assert (windows.version, windows.edition, windows.build) == ("6.1", "ServerStandard", "7601")
        assert windows.current_control_set == xen[1]["current_control_set"] == "ControlSet002"

    def test_driver_summary_ignores_the_stale_control_set(self, xen):
        assert xen[0].drivers.model_dump() == {
            "virtio": {"blk": "absent", "scsi": "installed", "net": "installed"},
            "xen": {"blk": "ready", "net": "ready"},
            "hyperv": {"vmbus": "absent", "storage": "absent", "net": "absent"},
        }

    def test_driver_details(self, xen):
        drivers = xen[0].windows.drivers
        assert drivers["xenvbd"].in_critical_device_database and drivers["xenbus"].in_critical_device_database
        assert not drivers["xenvbd"].in_driver_database  # 2008 R2 has no DriverDatabase
        assert drivers["xennet"].image_path == "\\SystemRoot\\system32\\DRIVERS\\xennet.sys"
        assert drivers["xennet"].file_exists and drivers["xennet"].start == 3
        assert drivers["vioscsi"].service and drivers["vioscsi"].start == 0 and not drivers["vioscsi"].file_exists
        assert drivers["netkvm"].start == 4 and drivers["netkvm"].file_exists
        assert not drivers["viostor"].service and drivers["viostor"].version is None

    def test_versions_from_bound_devices(self, xen):
        """Without a driver store, versions come from Control\\Class: an old virtio-win build shows."""
        drivers = xen[0].windows.drivers
        assert drivers["xenvbd"].version == "7.0.0.86"
        assert drivers["xennet"].version == "7.2.0.51"
        assert drivers["vioscsi"].version == "61.63.103.3000"
        assert drivers["xenbus"].version is None

    def test_configuration(self, xen):
        windows = xen[0].windows
        assert windows.cloudbase_init is False
        assert windows.rdp_enabled is False
        assert windows.dhcp is False
        assert windows.hibernation is True
        assert windows.fast_startup is True
        assert windows.bitlocker is True
        assert windows.sysprep_state == "pending-oobe"
        assert windows.guest_tools == ["vmware-tools", "xenserver-tools"]
        assert xen[0].warnings == []


@pytest.mark.appliance
def test_unreadable_hives_become_warnings(windows_guests):
    broken = windows_guests["windows-virtio/broken"]
    assert any("damaged hive (injected)" in warning for warning in broken.warnings)
    assert broken.windows.product_name == "" and broken.windows.drivers
    # no service could be read, but the driver files are there: installed, never ready
    assert broken.drivers.virtio.blk == "installed" and broken.drivers.xen.blk == "absent"
    assert broken.guest.type == "windows" and broken.guest.arch == "x86_64"
