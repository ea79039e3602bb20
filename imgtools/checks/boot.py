"""Boot checks: will the firmware find a bootloader, and the bootloader a kernel and its root?"""

from __future__ import annotations

from typing import Any, Mapping

from ..facts import Facts
from .registry import Check, Outcome, Param, failed, list_param, passed, skipped
from .remedies import WHERE

IMS_LINUX_DOC = "https://support.huaweicloud.com/intl/en-us/usermanual-ims/ims_01_0209.html"

#: Device names that stay the same when the disk moves to another bus or host.
STABLE_SPECS = ["uuid", "label", "partuuid", "partlabel", "lvm"]


def stable_spec_param() -> Param:
    return list_param(
        STABLE_SPECS, "accepted ways to name a device: uuid, label, partuuid, partlabel, lvm, device, by_id, by_path"
    )


def default_kernels(facts: Facts):
    """The kernels the guest boots by default (all of them when none is marked)."""
    kernels = facts.facts.linux.kernels if facts.facts.linux else []
    return [k for k in kernels if k.is_default] or kernels


def _kernel_present(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    kernels = facts.facts.linux.kernels if facts.facts.linux else []
    default = facts.boot.default_kernel if facts.boot else None
    if not kernels and not default:
        return failed("no kernel found under /boot")
    names = ", ".join(k.version for k in kernels) or default
    return passed(f"kernels: {names}" + (f"; default {default}" if default else ""))


def _bootloader_config(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    boot = facts.boot
    if boot is None:
        return skipped("boot configuration was not inspected")
    if boot.bootloader in ("none", "unknown") or not boot.config_paths:
        return failed(f"no bootloader configuration found (bootloader: {boot.bootloader})")
    return passed(f"{boot.bootloader}: {', '.join(boot.config_paths)}")


def _root_spec(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    boot = facts.boot
    if boot is None:
        return skipped("boot configuration was not inspected")
    if boot.root_spec is None:
        return failed("the default boot entry has no root= argument")
    if boot.root_spec.kind not in params["allowed"]:
        return failed(
            f"root={boot.root_spec.raw} names the device by {boot.root_spec.kind}, which changes when the "
            f"disk moves to another bus; use one of: {', '.join(params['allowed'])}"
        )
    return passed(f"root={boot.root_spec.raw} ({boot.root_spec.kind})")


def _boot_on_system_disk(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    where = facts.boot.boot_on_system_disk if facts.boot else None
    if where is None:
        return skipped("where /boot and the ESP live is unknown")
    if not where:
        return failed(f"/boot or the ESP is not on the system disk (the image has {facts.facts.disks} disks)")
    return passed("/, /boot and the ESP are on the system disk")


def _firmware(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    firmware = facts.boot.firmware if facts.boot else "unknown"
    if firmware == "unknown":
        return skipped("the guest's boot firmware could not be determined")
    if firmware not in params["firmware"]:
        return failed(f"the guest boots with {firmware}; the platform accepts: {', '.join(params['firmware'])}")
    return passed(f"the guest boots with {firmware}")


def _root_single_disk(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    storage = facts.facts.storage
    if storage.root_spans_disks:
        groups = [f"{vg.name} on disks {vg.disks}" for vg in storage.volume_groups if len(set(vg.disks)) > 1]
        return failed(f"the root volume group spans several disks: {'; '.join(groups) or 'see storage facts'}")
    return passed("/ lives on a single disk" + (" (LVM)" if storage.root_on_lvm else ""))


def _kernel_cmdline(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    required = params["required"]
    if not required:
        return passed("the platform requires no kernel arguments")
    cmdline = facts.boot.cmdline if facts.boot else None
    if cmdline is None:
        return skipped("the default kernel command line is unknown")
    present = cmdline.split()
    missing = [arg for arg in required if arg not in present]
    if missing:
        return failed(f"kernel command line lacks {' '.join(missing)} (it is: {cmdline})")
    return passed(f"kernel command line has {' '.join(required)}")


GRUB_REBUILD = {
    "debian": "update-grub",
    "rhel": "grub2-mkconfig -o /boot/grub2/grub.cfg   # UEFI: -o /boot/efi/EFI/<distro>/grub.cfg",
    "suse": "grub2-mkconfig -o /boot/grub2/grub.cfg",
}


def _grub_fix(step: str, rhel_step: str = "") -> dict[str, str]:
    """``step`` (plus ``rhel_step`` on RHEL, where grubby edits the entries) then regenerate grub.cfg."""
    steps = {family: step for family in GRUB_REBUILD} | ({"rhel": f"{step}\n{rhel_step}"} if rhel_step else {})
    fixes = {family: f"{WHERE}\n{steps[family]}\n{cmd}" for family, cmd in GRUB_REBUILD.items()}
    fixes["any"] = f"{WHERE}\n{step}\n" + "\n".join(
        f"{cmd}   # {label}" for label, cmd in (("Debian/Ubuntu", GRUB_REBUILD["debian"]), ("RHEL/SUSE", GRUB_REBUILD["rhel"]))
    )
    return fixes


CHECKS = (
    Check(
        id="IMG-BOOT-001",
        slug="kernel-present",
        title="A bootable kernel is installed",
        default_severity="error",
        applies_to="linux",
        rationale="Without a kernel under /boot there is nothing to boot; containers exported as disks "
        "and data disks often lack one.",
        remediation={
            "debian": f"{WHERE}\napt-get install linux-image-amd64   # Ubuntu: linux-image-virtual",
            "rhel": f"{WHERE}\ndnf install kernel",
            "suse": f"{WHERE}\nzypper install kernel-default",
            "any": "Install the distribution's kernel package (Debian: linux-image-amd64, RHEL: kernel, "
            "SUSE: kernel-default) or export the system disk rather than a data disk.",
        },
        docs=IMS_LINUX_DOC,
        evaluate=_kernel_present,
    ),
    Check(
        id="IMG-BOOT-002",
        slug="bootloader-config",
        title="A bootloader configuration is present",
        default_severity="error",
        applies_to="linux",
        rationale="The platform boots the disk through its bootloader (GRUB on every target cloud); without "
        "a configuration the VM stops at a grub prompt or 'No bootable device'.",
        remediation=_grub_fix(
            "Install GRUB on the system disk: grub-install /dev/sda (Debian) or grub2-install /dev/sda "
            "(RHEL/SUSE; UEFI: reinstall grub2-efi and shim)"
        ),
        docs=IMS_LINUX_DOC,
        evaluate=_bootloader_config,
    ),
    Check(
        id="IMG-BOOT-003",
        slug="root-by-uuid",
        title="The kernel finds / by UUID or LABEL",
        default_severity="error",
        applies_to="linux",
        rationale="On the cloud the disk is virtio (/dev/vda) or NVMe, not /dev/sda or a VMware by-id path: "
        "root= naming the device breaks boot with 'Cannot find root device'.",
        remediation=_grub_fix(
            "Make GRUB write root=UUID=: set GRUB_DISABLE_LINUX_UUID=false in /etc/default/grub "
            "(and remove any hard-coded root= from GRUB_CMDLINE_LINUX)",
            "grubby --update-kernel=ALL --args=\"root=UUID=$(findmnt -no UUID /)\"",
        ),
        docs=IMS_LINUX_DOC,
        evaluate=_root_spec,
        params={"allowed": stable_spec_param()},
    ),
    Check(
        id="IMG-BOOT-004",
        slug="boot-on-system-disk",
        title="Boot and system partitions are on the same disk",
        default_severity="error",
        applies_to="any",
        rationale="Only the system disk is imported as the image; a /boot or ESP on another disk is lost.",
        remediation=_grub_fix(
            "Copy /boot (and /boot/efi) onto a partition of the system disk, point /etc/fstab at it by UUID, "
            "and reinstall the bootloader on that disk (grub-install /dev/sda or grub2-install /dev/sda)"
        ) | {
            "windows": "Windows: run bcdboot C:\\Windows /s <system-disk ESP or active partition letter> so the "
            "boot files live on the system disk."
        },
        docs=IMS_LINUX_DOC,
        evaluate=_boot_on_system_disk,
    ),
    Check(
        id="IMG-BOOT-005",
        slug="firmware-supported",
        title="The platform supports the guest's boot firmware",
        default_severity="error",
        applies_to="any",
        rationale="A UEFI guest does not boot on a BIOS-only flavor and vice versa; some platforms boot UEFI "
        "only for listed OS versions or architectures.",
        remediation={
            "any": "Register the image with the firmware it needs where the platform allows it "
            "(Huawei/OpenStack property hw_firmware_type=uefi, Azure Gen2, AWS --boot-mode uefi); otherwise "
            "convert the boot: on Linux add a BIOS boot partition (GPT) and run grub-install --target=i386-pc "
            "/dev/sda, or reinstall the guest for the supported firmware; Windows: mbr2gpt /convert /allowFullOS "
            "turns BIOS into UEFI.",
        },
        docs="https://support.huaweicloud.com/intl/en-us/usermanual-ims/ims_01_0317.html",
        evaluate=_firmware,
        params={"firmware": list_param(["bios"], "firmware the platform boots: bios, uefi")},
    ),
    Check(
        id="IMG-BOOT-006",
        slug="root-single-disk",
        title="The root file system does not span several disks",
        default_severity="error",
        applies_to="linux",
        rationale="The image holds one disk; a root logical volume with extents on other disks cannot be "
        "activated after import.",
        remediation={
            "any": f"{WHERE}\nMove the root volume group onto the system disk: pvmove /dev/sdb1 (each other disk's PV) "
            "then vgreduce <vg> /dev/sdb1; or copy / to a volume on the system disk.",
        },
        docs="https://cloud.google.com/compute/docs/import/importing-virtual-disks",
        evaluate=_root_single_disk,
    ),
    Check(
        id="IMG-BOOT-007",
        slug="kernel-cmdline",
        title="The kernel command line has the arguments the platform needs",
        default_severity="warning",
        applies_to="linux",
        rationale="Azure and GCE show the serial console only with console=ttyS0, and Azure asks for "
        "rootdelay=300 so a slow storage start does not fail the boot.",
        remediation=_grub_fix(
            "Add the arguments to GRUB_CMDLINE_LINUX in /etc/default/grub",
            "grubby --update-kernel=ALL --args=\"<arguments>\"",
        ),
        docs="https://learn.microsoft.com/en-us/azure/virtual-machines/linux/create-upload-generic",
        evaluate=_kernel_cmdline,
        params={"required": list_param([], "kernel arguments that must be present, e.g. console=ttyS0")},
    ),
)
