"""Network checks: will the guest's first NIC come up on a network it has never seen?"""

from __future__ import annotations

from typing import Any, Mapping

from ..facts import Facts
from .registry import Check, Outcome, failed, passed, skipped
from .remedies import RHEL_LIKE, WHERE, rebuild_initramfs_after

IMS_LINUX_DOC = "https://support.huaweicloud.com/intl/en-us/usermanual-ims/ims_01_0209.html"


def _interfaces(facts: Facts):
    return [i for i in facts.facts.linux.network.interfaces if i.name != "lo"] if facts.facts.linux else []


def _dhcp(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    interfaces = _interfaces(facts)
    if not interfaces:
        if facts.facts.linux and facts.facts.linux.cloud_init.installed:
            return passed("no static NIC configuration; cloud-init configures the NIC at first boot")
        return failed("no configuration found for any NIC, and no cloud-init to write one")
    primary = interfaces[0]
    if primary.method != "dhcp":
        return failed(f"primary interface {primary.name} uses {primary.method} addressing ({primary.source})")
    return passed(f"primary interface {primary.name} uses DHCP ({primary.source})")


def _udev_rules(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    network = facts.facts.linux.network
    found = [*network.udev_net_rules, *(f"{r} (inside the initramfs)" for r in network.udev_net_rules_in_initramfs)]
    if found:
        return failed(f"persistent-net udev rules pin NIC names to old MACs: {', '.join(found)}")
    return passed("no persistent-net udev rules, neither on disk nor in the initramfs")


def _mac_pinning(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    pinned = [f"{i.name} to {i.mac} ({i.source})" for i in _interfaces(facts) if i.mac]
    if pinned:
        return failed(f"NIC configuration pinned to a MAC address: {'; '.join(pinned)}")
    return passed("no NIC configuration names a MAC address")


def _nozeroconf(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    if facts.guest.distro not in RHEL_LIKE:
        return skipped(f"NOZEROCONF concerns RHEL-like network scripts, not {facts.guest.distro}")
    value = facts.facts.linux.network.nozeroconf
    if value is None:
        return skipped("the network scripts' NOZEROCONF setting is unknown")
    if not value:
        return failed("NOZEROCONF is not set in /etc/sysconfig/network: a 169.254.0.0/16 route shadows the metadata service")
    return passed("NOZEROCONF=yes in /etc/sysconfig/network")


CHECKS = (
    Check(
        id="IMG-NET-001",
        slug="dhcp-primary",
        title="The primary NIC gets its address by DHCP",
        default_severity="error",
        applies_to="linux",
        rationale="The cloud assigns the VM's address by DHCP; a static address from the old network leaves "
        "the VM unreachable.",
        remediation={
            "debian": f"{WHERE}\nIn /etc/network/interfaces: auto eth0 / iface eth0 inet dhcp; "
            "with netplan (Ubuntu): set dhcp4: true for the interface in /etc/netplan/*.yaml and netplan generate.",
            "rhel": f"{WHERE}\nIn /etc/sysconfig/network-scripts/ifcfg-eth0: BOOTPROTO=dhcp, ONBOOT=yes, "
            "PERSISTENT_DHCLIENT=\"y\"; remove IPADDR, NETMASK, GATEWAY (NetworkManager: nmcli con mod eth0 "
            "ipv4.method auto).",
            "suse": f"{WHERE}\nIn /etc/sysconfig/network/ifcfg-eth0: BOOTPROTO='dhcp', STARTMODE='auto'.",
            "any": f"{WHERE}\nConfigure the first NIC for DHCP: Debian /etc/network/interfaces 'iface eth0 inet dhcp'; "
            "netplan 'dhcp4: true'; RHEL ifcfg 'BOOTPROTO=dhcp'; SUSE ifcfg BOOTPROTO='dhcp'.",
        },
        docs=IMS_LINUX_DOC,
        evaluate=_dhcp,
    ),
    Check(
        id="IMG-NET-002",
        slug="no-udev-net-rules",
        title="No udev persistent-net rules",
        default_severity="error",
        applies_to="linux",
        rationale="Persistent-net rules bind eth0 to the old NIC's MAC; the cloud NIC then becomes eth1, "
        "which nothing configures, and the VM has no network.",
        remediation=rebuild_initramfs_after(
            "rm -f /etc/udev/rules.d/70-persistent-net.rules /etc/udev/rules.d/75-persistent-net-generator.rules "
            "/etc/udev/rules.d/30-net_persistent-names.rules   # every rules file naming 'persistent' and 'net'"
        ),
        docs=IMS_LINUX_DOC,
        evaluate=_udev_rules,
    ),
    Check(
        id="IMG-NET-003",
        slug="no-mac-pinning",
        title="No NIC configuration is pinned to a MAC address",
        default_severity="error",
        applies_to="linux",
        rationale="A configuration that matches the old NIC's MAC address (HWADDR=, macaddress:) never applies "
        "to the cloud's NIC.",
        remediation={
            "debian": f"{WHERE}\nRemove 'match: macaddress:' (netplan) or 'hwaddress' lines, matching by name instead.",
            "rhel": f"{WHERE}\nsed -i '/^HWADDR=/d;/^MACADDR=/d' /etc/sysconfig/network-scripts/ifcfg-*",
            "suse": f"{WHERE}\nsed -i '/^LLADDR=/d' /etc/sysconfig/network/ifcfg-*",
            "any": f"{WHERE}\nDelete HWADDR=/MACADDR= (ifcfg), LLADDR= (SUSE), 'macaddress:' (netplan), "
            "'hwaddress' (interfaces) and [Match] MACAddress= (systemd-networkd).",
        },
        docs=IMS_LINUX_DOC,
        evaluate=_mac_pinning,
    ),
    Check(
        id="IMG-NET-004",
        slug="nozeroconf",
        title="Zeroconf routes are disabled (RHEL-like)",
        default_severity="warning",
        applies_to="linux",
        rationale="RHEL's network scripts add a 169.254.0.0/16 route per NIC unless NOZEROCONF=yes, which can "
        "hide the 169.254.169.254 metadata service from cloud-init.",
        remediation={"any": f"{WHERE}\necho 'NOZEROCONF=yes' >> /etc/sysconfig/network"},
        docs=IMS_LINUX_DOC,
        evaluate=_nozeroconf,
    ),
)
