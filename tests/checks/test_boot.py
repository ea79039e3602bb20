"""imgtools.checks.boot: a passing and a failing facts document for every boot check."""

from __future__ import annotations

import pytest

from imgtools.facts import DeviceSpec, VolumeGroup

from .cases import case, setting, verify
from .sample_facts import debian, rhel, unsafe, windows


def _spanning_root(facts):
    facts.facts.storage.root_on_lvm = True
    facts.facts.storage.root_spans_disks = True
    facts.facts.storage.volume_groups = [VolumeGroup(name="vg0", physical_volumes=["/dev/sda2", "/dev/sdb1"],
                                                     disks=[0, 1], logical_volumes=["root"])]


CASES = [
    case("IMG-BOOT-001", "pass", debian, message="6.1.0-13-amd64"),
    case("IMG-BOOT-001", "fail", debian,
         lambda f: (setting("facts.linux.kernels", [])(f), setting("boot.default_kernel", None)(f)),
         message="no kernel found", remediation="apt-get install linux-image-amd64"),
    case("IMG-BOOT-001", "skip", windows, label="windows", message="not a Linux guest"),
    case("IMG-BOOT-001", "skip", unsafe, label="unsafe", message="unsafe and was not opened"),
    case("IMG-BOOT-002", "pass", debian, message="grub2: /boot/grub/grub.cfg"),
    case("IMG-BOOT-002", "fail", rhel, setting("boot.config_paths", []), message="no bootloader configuration",
         remediation="grub2-mkconfig"),
    case("IMG-BOOT-003", "pass", debian, message="(uuid)"),
    case("IMG-BOOT-003", "fail", debian, setting("boot.root_spec", DeviceSpec(raw="/dev/sda1", kind="device")),
         message="root=/dev/sda1 names the device by device", remediation="update-grub"),
    case("IMG-BOOT-003", "fail", rhel,
         setting("boot.root_spec", DeviceSpec(raw="/dev/disk/by-id/scsi-36000c29f-part1", kind="by_id")),
         label="by-id-rhel", message="by_id", remediation="grubby"),
    case("IMG-BOOT-003", "fail", debian, setting("boot.root_spec", None), label="missing", message="no root="),
    case("IMG-BOOT-004", "pass", windows, message="on the system disk"),
    case("IMG-BOOT-004", "fail", debian,
         lambda f: (setting("boot.boot_on_system_disk", False)(f), setting("facts.disks", 2)(f)),
         message="the image has 2 disks", remediation="grub-install"),
    case("IMG-BOOT-004", "skip", debian, setting("boot.boot_on_system_disk", None), label="unknown"),
    case("IMG-BOOT-005", "pass", debian, message="boots with bios"),
    case("IMG-BOOT-005", "fail", debian, setting("boot.firmware", "uefi"), message="the platform accepts: bios",
         remediation="hw_firmware_type=uefi"),
    case("IMG-BOOT-005", "pass", debian, setting("boot.firmware", "uefi"), params={"firmware": ["bios", "uefi"]},
         label="uefi-allowed"),
    case("IMG-BOOT-005", "skip", debian, setting("boot.firmware", "unknown"), label="unknown"),
    case("IMG-BOOT-006", "pass", debian, message="single disk"),
    case("IMG-BOOT-006", "fail", rhel, _spanning_root, message="vg0 on disks [0, 1]", remediation="pvmove"),
    case("IMG-BOOT-007", "pass", debian, message="requires no kernel arguments"),
    case("IMG-BOOT-007", "pass", debian, setting("boot.cmdline", "root=UUID=x ro console=ttyS0"),
         params={"required": ["console=ttyS0"]}, label="present", message="has console=ttyS0"),
    case("IMG-BOOT-007", "fail", debian, params={"required": ["console=ttyS0", "rootdelay=300"]},
         message="lacks console=ttyS0 rootdelay=300", remediation="GRUB_CMDLINE_LINUX"),
]


@pytest.mark.parametrize("c", CASES)
def test_boot_check(c):
    verify(c)
