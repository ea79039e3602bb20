"""Windows checks: boot-start storage drivers and state that keeps Windows from booting cleanly elsewhere."""

from __future__ import annotations

from typing import Any, Mapping

from ..facts import Facts
from .registry import Check, Outcome, failed, list_param, passed, skipped

IMS_WINDOWS_DOC = "https://support.huaweicloud.com/intl/en-us/usermanual-ims/ims_01_0204.html"
BOOT_START = 0
DISABLED = 4


def _driver_state(driver, boot_start: bool) -> str | None:
    """Why a driver is not usable, or None when it is."""
    if driver is None or not driver.service:
        return "not installed"
    if not driver.file_exists:
        return f"service present but {driver.image_path or 'its .sys file'} is missing"
    if driver.start == DISABLED:
        return "installed but disabled (start type 4)"
    if boot_start and driver.start != BOOT_START:
        return f"start type {driver.start}, not boot-start (0)"
    return None


def driver_check(*, boot_start: bool, require_all: bool):
    """A check function over the Windows drivers named in ``params['drivers']``."""

    def evaluate(facts: Facts, params: Mapping[str, Any]) -> Outcome:
        installed = facts.facts.windows.drivers
        states = {name: _driver_state(installed.get(name), boot_start) for name in params["drivers"]}
        ready = [name for name, problem in states.items() if problem is None]
        problems = [f"{name}: {problem}" for name, problem in states.items() if problem]
        ok = not problems if require_all else bool(ready)
        if not ok:
            return failed("; ".join(problems))
        kind = "boot-start" if boot_start else "installed"
        return passed(f"{', '.join(ready)} {kind}")

    return evaluate


def _no_bitlocker(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    bitlocker = facts.facts.windows.bitlocker
    if bitlocker is None:
        return skipped("BitLocker state unknown")
    return failed("BitLocker protects a volume") if bitlocker else passed("no BitLocker volume")


def _not_hibernated(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    win = facts.facts.windows
    if win.hibernation is None and win.fast_startup is None:
        return skipped("hibernation and Fast Startup state unknown")
    found = [what for what, on in (("the system is hibernated (hiberfil.sys in use)", win.hibernation),
                                   ("Fast Startup is on (HiberbootEnabled=1)", win.fast_startup)) if on]
    if found:
        return failed("; ".join(found))
    return passed("not hibernated; Fast Startup off")


def _dhcp(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    dhcp = facts.facts.windows.dhcp
    if dhcp is None:
        return skipped("NIC addressing unknown")
    return passed("NICs use DHCP") if dhcp else failed("a NIC has a static IPv4 address (EnableDHCP=0)")


VIRTIO_WIN = (
    "Install the virtio-win drivers before export (virtio-win.iso, or virtio-win-gt-x64.msi): "
    "pnputil /add-driver E:\\viostor\\<os>\\amd64\\viostor.inf /install, then make it boot-start: "
    "reg add HKLM\\SYSTEM\\CurrentControlSet\\Services\\viostor /v Start /t REG_DWORD /d 0 /f. "
    "Offline: virt-v2v-in-place or Huawei's automatic configuration inject viostor."
)

CHECKS = (
    Check(
        id="IMG-WIN-001",
        slug="virtio-storage-boot-start",
        title="A virtio storage driver is installed and boot-start",
        default_severity="error",
        applies_to="windows",
        rationale="Windows loads storage drivers only if they are boot-start; without viostor or vioscsi "
        "it stops with INACCESSIBLE_BOOT_DEVICE (0x7B) on a KVM cloud.",
        remediation={"any": VIRTIO_WIN},
        docs=IMS_WINDOWS_DOC,
        evaluate=driver_check(boot_start=True, require_all=False),
        params={"drivers": list_param(["viostor", "vioscsi"], "virtio storage drivers; one must be boot-start")},
    ),
    Check(
        id="IMG-WIN-002",
        slug="virtio-net-driver",
        title="The virtio network driver is installed",
        default_severity="warning",
        applies_to="windows",
        rationale="Without NetKVM the VM boots but has no network: no RDP, no activation, no Cloudbase-Init.",
        remediation={"any": "pnputil /add-driver E:\\NetKVM\\<os>\\amd64\\netkvm.inf /install (from virtio-win.iso)."},
        docs=IMS_WINDOWS_DOC,
        evaluate=driver_check(boot_start=False, require_all=True),
        params={"drivers": list_param(["netkvm"], "virtio network drivers that must be installed")},
    ),
    Check(
        id="IMG-WIN-003",
        slug="xen-pv-drivers",
        title="Xen PV drivers are installed (Windows)",
        default_severity="warning",
        applies_to="windows",
        rationale="Xen-based flavors present PV disks and NICs; Windows needs the PV drivers to use them.",
        remediation={
            "any": "Install the Xen PV drivers (Huawei: UVP VMTools, pvdriver-windows.iso; otherwise the "
            "xenbus, xenvbd and xennet drivers) before export.",
        },
        docs=IMS_WINDOWS_DOC,
        evaluate=driver_check(boot_start=False, require_all=True),
        params={"drivers": list_param(["xenbus", "xenvbd", "xennet"], "Xen PV drivers that must be installed")},
    ),
    Check(
        id="IMG-WIN-004",
        slug="not-hibernated",
        title="Windows is not hibernated and Fast Startup is off",
        default_severity="error",
        applies_to="windows",
        rationale="A hibernated or Fast-Startup Windows resumes a kernel that expects the old hardware, and "
        "its NTFS volumes are left dirty so offline driver injection cannot write to them.",
        remediation={
            "any": "In the guest: powercfg /h off, then shut down fully with shutdown /s /t 0 (not a hybrid "
            "shutdown); or reg add \"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Power\" "
            "/v HiberbootEnabled /t REG_DWORD /d 0 /f.",
        },
        docs=IMS_WINDOWS_DOC,
        evaluate=_not_hibernated,
    ),
    Check(
        id="IMG-WIN-005",
        slug="no-bitlocker",
        title="BitLocker is off",
        default_severity="error",
        applies_to="windows",
        rationale="A BitLocker volume cannot be read by the import service, and the TPM-bound key does not "
        "exist on the new platform: the VM asks for the recovery key.",
        remediation={"any": "In the guest: manage-bde -off C: and wait until manage-bde -status shows "
                            "'Fully Decrypted', then export."},
        docs="https://learn.microsoft.com/en-us/azure/virtual-machines/windows/prepare-for-upload-vhd-image",
        evaluate=_no_bitlocker,
    ),
    Check(
        id="IMG-WIN-006",
        slug="windows-dhcp",
        title="The NICs get their address by DHCP (Windows)",
        default_severity="error",
        applies_to="windows",
        rationale="The cloud assigns the VM's address by DHCP; a static address from the old network leaves "
        "the VM unreachable.",
        remediation={"any": "In the guest: netsh interface ip set address name=\"Ethernet\" source=dhcp "
                            "(for each NIC), and netsh interface ip set dns name=\"Ethernet\" source=dhcp."},
        docs=IMS_WINDOWS_DOC,
        evaluate=_dhcp,
    ),
)
