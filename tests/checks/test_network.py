"""imgtools.checks.network: a passing and a failing facts document for every network check."""

from __future__ import annotations

import pytest

from imgtools.facts import NetInterface

from .cases import case, setting, verify
from .sample_facts import debian, rhel

STATIC = NetInterface(name="eth0", source="/etc/sysconfig/network-scripts/ifcfg-eth0", config_system="ifcfg",
                      method="static")
PINNED = NetInterface(name="eth0", source="/etc/sysconfig/network-scripts/ifcfg-eth0", config_system="ifcfg",
                      method="dhcp", mac="00:50:56:ab:cd:ef")


def _no_network_config(cloud_init: bool):
    def apply(facts):
        facts.facts.linux.network.interfaces = []
        facts.facts.linux.cloud_init.installed = cloud_init

    return apply


CASES = [
    case("IMG-NET-001", "pass", debian, message="eth0 uses DHCP (/etc/network/interfaces)"),
    case("IMG-NET-001", "pass", debian, _no_network_config(True), label="cloud-init", message="cloud-init configures"),
    case("IMG-NET-001", "fail", rhel, setting("facts.linux.network.interfaces", [STATIC]),
         message="eth0 uses static addressing (/etc/sysconfig/network-scripts/ifcfg-eth0)", remediation="BOOTPROTO=dhcp"),
    case("IMG-NET-001", "fail", debian, _no_network_config(False), label="nothing", message="no configuration"),
    case("IMG-NET-002", "pass", debian, message="no persistent-net udev rules"),
    case("IMG-NET-002", "fail", debian,
         setting("facts.linux.network.udev_net_rules", ["/etc/udev/rules.d/70-persistent-net.rules"]),
         message="/etc/udev/rules.d/70-persistent-net.rules", remediation="update-initramfs -u -k all"),
    case("IMG-NET-002", "fail", rhel,
         setting("facts.linux.network.udev_net_rules_in_initramfs", ["etc/udev/rules.d/70-persistent-net.rules"]),
         label="in-initramfs", message="(inside the initramfs)", remediation="dracut -f --regenerate-all"),
    case("IMG-NET-003", "pass", rhel, message="no NIC configuration names a MAC"),
    case("IMG-NET-003", "fail", rhel, setting("facts.linux.network.interfaces", [PINNED]),
         message="eth0 to 00:50:56:ab:cd:ef", remediation="HWADDR"),
    case("IMG-NET-004", "pass", rhel, message="NOZEROCONF=yes"),
    case("IMG-NET-004", "fail", rhel, setting("facts.linux.network.nozeroconf", False), message="169.254"),
    case("IMG-NET-004", "skip", debian, label="debian", message="not debian"),
]


@pytest.mark.parametrize("c", CASES)
def test_network_check(c):
    verify(c)
