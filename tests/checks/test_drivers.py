"""imgtools.checks.drivers: a passing and a failing facts document for every driver check.

The failing virtio cases also pin the remediation to the guest's own family:
initramfs-tools for Debian, dracut for RHEL.
"""

from __future__ import annotations

import pytest

from imgtools.facts import ModuleState

from .cases import case, setting, verify
from .sample_facts import DEBIAN_KERNEL, RHEL_KERNEL, debian, rhel, windows


def module(name: str, **state):
    """A change that sets one kernel module's state on the default kernel."""

    def apply(facts):
        facts.facts.linux.kernels[0].modules[name] = ModuleState(**state)

    return apply


def without(name: str):
    def apply(facts):
        del facts.facts.linux.kernels[0].modules[name]

    return apply


CASES = [
    case("IMG-DRV-001", "pass", debian, message=f"kernel {DEBIAN_KERNEL}: virtio_blk virtio_scsi virtio_pci virtio_net ready"),
    case("IMG-DRV-001", "pass", rhel, module("virtio_blk", builtin=True), label="builtin"),
    case("IMG-DRV-001", "fail", debian, module("virtio_blk", on_disk=True),
         message=f"kernel {DEBIAN_KERNEL}: virtio_blk on disk but not in /boot/initrd.img-{DEBIAN_KERNEL}",
         remediation="update-initramfs -u -k all"),
    case("IMG-DRV-001", "fail", rhel, module("virtio_scsi", on_disk=True), label="rhel",
         message=f"virtio_scsi on disk but not in /boot/initramfs-{RHEL_KERNEL}.img",
         remediation="dracut -f --regenerate-all"),
    case("IMG-DRV-001", "fail", debian, without("virtio_net"), label="net-missing",
         message="virtio_net is not installed"),
    case("IMG-DRV-001", "skip", debian, setting("facts.linux.kernels", []), label="no-kernels"),
    case("IMG-DRV-002", "pass", debian, message="xen_blkfront xen_netfront ready"),
    case("IMG-DRV-002", "fail", rhel, module("xen_blkfront", on_disk=True), message="xen_blkfront on disk but not in",
         remediation="/etc/dracut.conf.d/xen.conf"),
    case("IMG-DRV-003", "pass", debian, message="hv_vmbus hv_storvsc hv_netvsc ready"),
    case("IMG-DRV-003", "fail", debian, without("hv_storvsc"), message="hv_storvsc is not installed",
         remediation="/etc/initramfs-tools/modules"),
    case("IMG-DRV-003", "skip", windows, label="windows"),
    case("IMG-DRV-004", "pass", debian, message="at least 2.6.25"),
    case("IMG-DRV-004", "fail", rhel, setting("facts.linux.kernels.0.version", "2.6.18-419.el5"),
         message="2.6.18-419.el5 is older than 2.6.25"),
]


@pytest.mark.parametrize("c", CASES)
def test_driver_check(c):
    verify(c)


def test_unreadable_initramfs_is_named():
    facts = debian()
    kernel = facts.facts.linux.kernels[0]
    kernel.initramfs_readable = False
    kernel.modules["virtio_blk"] = ModuleState(on_disk=True)
    c = case("IMG-DRV-001", "fail", lambda: facts, message="could not be read").values[0]
    verify(c)
