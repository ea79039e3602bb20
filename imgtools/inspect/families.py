"""What differs between Linux distribution families, as data: one small class each.

Where the initramfs lives, which tool usually builds it, where network
configuration is kept.  Every family also tries the generic locations, so a
guest that mixes conventions (netplan on Debian, NetworkManager on SUSE) is
still read completely; the family only decides the order and the default.
"""

from __future__ import annotations

from typing import Callable, ClassVar

from ..facts import NetInterface
from .parse.network import parse_ifcfg, parse_interfaces, parse_netplan, parse_networkd, parse_nm_keyfile

NetworkParser = Callable[[str, str], list[NetInterface]]

#: (glob, parser) for every network configuration system imgtools reads.
#: /etc/network/interfaces includes are followed by the gatherer.
NETWORK_SOURCES: dict[str, tuple[tuple[str, ...], NetworkParser]] = {
    "ifcfg-rhel": (("/etc/sysconfig/network-scripts/ifcfg-*",), parse_ifcfg),
    "ifcfg-suse": (("/etc/sysconfig/network/ifcfg-*",), parse_ifcfg),
    "interfaces": (("/etc/network/interfaces",), parse_interfaces),
    "netplan": (("/etc/netplan/*.yaml", "/etc/netplan/*.yml"), parse_netplan),
    "networkmanager": (
        ("/etc/NetworkManager/system-connections/*", "/usr/lib/NetworkManager/system-connections/*"),
        parse_nm_keyfile,
    ),
    "networkd": (("/etc/systemd/network/*.network", "/usr/lib/systemd/network/*.network"), parse_networkd),
}


class Family:
    """The generic fallback: every known location, no preferred tool."""

    name: ClassVar[str] = "generic"
    distros: ClassVar[frozenset[str]] = frozenset()
    #: Initramfs file names for kernel ``{v}``, most likely first.
    initramfs: ClassVar[tuple[str, ...]] = (
        "/boot/initrd.img-{v}", "/boot/initramfs-{v}.img", "/boot/initrd-{v}", "/boot/initramfs-{v}",
        "/boot/initrd-{v}.img",
    )
    initramfs_tool: ClassVar[str] = "unknown"
    network_order: ClassVar[tuple[str, ...]] = tuple(NETWORK_SOURCES)

    @classmethod
    def network_sources(cls) -> list[tuple[str, tuple[str, ...], NetworkParser]]:
        order = list(cls.network_order) + [name for name in NETWORK_SOURCES if name not in cls.network_order]
        return [(name, *NETWORK_SOURCES[name]) for name in order]


class Debian(Family):
    name = "debian"
    distros = frozenset({"debian", "ubuntu", "linuxmint", "kalilinux", "pardus"})
    initramfs = ("/boot/initrd.img-{v}", "/boot/initrd-{v}")
    initramfs_tool = "initramfs-tools"
    network_order = ("netplan", "interfaces", "networkd", "networkmanager")


class Rhel(Family):
    name = "rhel"
    distros = frozenset({
        "rhel", "centos", "fedora", "rocky", "almalinux", "oraclelinux", "scientificlinux", "redhat-based",
        "openeuler", "euleros", "kylin", "circle", "neokylin",
    })
    initramfs = ("/boot/initramfs-{v}.img", "/boot/initrd-{v}.img", "/boot/initrd-{v}")
    initramfs_tool = "dracut"
    network_order = ("ifcfg-rhel", "networkmanager", "networkd")


class Suse(Family):
    name = "suse"
    distros = frozenset({"sles", "suse-based", "opensuse"})
    initramfs = ("/boot/initrd-{v}", "/boot/initrd-{v}.img", "/boot/initrd.img-{v}")
    initramfs_tool = "dracut"  # SLES 12+; the gatherer sees mkinitrd-only guests by their files
    network_order = ("ifcfg-suse", "networkmanager", "networkd")


FAMILIES: tuple[type[Family], ...] = (Debian, Rhel, Suse)


def family_of(distro: str) -> type[Family]:
    """The family of a libguestfs distro name; the generic fallback when unknown."""
    return next((family for family in FAMILIES if distro in family.distros), Family)
