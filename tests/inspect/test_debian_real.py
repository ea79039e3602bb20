"""Inspection of the REAL Debian 12 guest (debootstrap, Debian's kernel and initramfs-tools).

Synthetic guests show imgtools reads what it is given; this one shows it reads
what a real distribution writes: a zstd initramfs made by mkinitramfs, a
grub.cfg made by grub-mkconfig, Debian's kernel config.  One inspection per
image per session.
"""

from __future__ import annotations

import pytest

from fixtures import debian
from imgtools.inspect import gather_facts, kernel

pytestmark = [pytest.mark.slow, pytest.mark.appliance]

VIRTIO_MODULES = ("virtio_blk", "virtio_scsi", "virtio_net", "virtio_pci")


@pytest.fixture(scope="session")
def debian_facts():
    """Facts per variant, gathered once each, on first use."""
    found = {}

    def facts(variant: str):
        if variant not in found:
            found[variant] = gather_facts(str(debian.build_debian(variant)))
        return found[variant]

    return facts


def _default_kernel(facts):
    (kernel,) = [k for k in facts.facts.linux.kernels if k.is_default]
    return kernel


@pytest.mark.parametrize("variant", list(debian.VARIANTS))
def test_guest_is_debian_12(debian_facts, variant):
    facts = debian_facts(variant)
    assert facts.guest.type == "linux"
    assert facts.guest.distro == "debian"
    assert facts.guest.major_version == 12
    assert facts.guest.arch == "x86_64"
    assert facts.guest.hostname == debian.HOSTNAME
    assert facts.guest.package_format == "deb"
    # Found by imgtools' own Linux probe, not libguestfs' much slower inspect_os.
    assert facts.facts.inspection.os_detected_by == "imgtools"
    # The appliance booted the fast PVH kernel whenever the host has one (Debian's amd64 kernel does).
    assert bool(facts.facts.inspection.appliance_kernel) == bool(kernel.fast_kernel_environment())


@pytest.mark.parametrize("variant", list(debian.VARIANTS))
def test_boot_is_grub2_bios_mbr_root_by_uuid_on_serial(debian_facts, variant):
    boot = debian_facts(variant).boot
    assert boot.bootloader == "grub2"
    assert boot.firmware == "bios"
    assert boot.partition_table == "mbr"
    assert "/boot/grub/grub.cfg" in boot.config_paths
    assert boot.root_spec is not None and boot.root_spec.kind == "uuid"
    assert debian.ROOT_UUID in boot.root_spec.raw
    assert any(console.startswith("ttyS0") for console in boot.console)


@pytest.mark.parametrize("variant", list(debian.VARIANTS))
def test_linux_summary(debian_facts, variant):
    facts = debian_facts(variant)
    assert facts.linux.fstab_by_uuid is True
    assert facts.linux.dhcp is True
    assert facts.linux.udev_net_rules is False
    assert facts.linux.cloud_init is (variant == "cloudinit")
    assert facts.facts.linux.initramfs_tool == "initramfs-tools"
    assert facts.facts.linux.ssh_server.installed is True
    eth0 = [i for i in facts.facts.linux.network.interfaces if i.name == "eth0"]
    assert eth0 and eth0[0].config_system == "interfaces" and eth0[0].method == "dhcp"


def test_virtio_variant_has_virtio_ready(debian_facts):
    facts = debian_facts("virtio")
    assert (facts.drivers.virtio.blk, facts.drivers.virtio.scsi, facts.drivers.virtio.net) == ("ready",) * 3
    kernel = _default_kernel(facts)
    assert kernel.initramfs_readable and kernel.initramfs_compression == "zstd"
    for name in VIRTIO_MODULES:
        assert kernel.modules[name].on_disk and kernel.modules[name].in_initramfs, name


def test_novirtio_variant_has_virtio_only_installed(debian_facts):
    facts = debian_facts("novirtio")
    assert (facts.drivers.virtio.blk, facts.drivers.virtio.scsi, facts.drivers.virtio.net) == ("installed",) * 3
    kernel = _default_kernel(facts)
    assert kernel.initramfs_readable
    for name in VIRTIO_MODULES:
        assert kernel.modules[name].on_disk and not kernel.modules[name].in_initramfs, name


def test_cloudinit_variant_reports_cloud_init_and_its_datasources(debian_facts):
    cloud_init = debian_facts("cloudinit").facts.linux.cloud_init
    assert cloud_init.installed is True
    assert cloud_init.version and cloud_init.version.split(".")[0] == "22"
    assert cloud_init.datasources == ["OpenStack", "ConfigDrive", "None"]
    assert debian_facts("cloudinit").drivers.virtio.blk == "ready"
