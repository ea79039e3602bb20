"""imgtools.checks.software: a passing and a failing facts document for every software check."""

from __future__ import annotations

import pytest

from .cases import case, setting, verify
from .sample_facts import debian, rhel, windows

CASES = [
    case("IMG-SW-001", "pass", debian, message="cloud-init 22.4.2 with datasource OpenStack, ConfigDrive"),
    case("IMG-SW-001", "pass", rhel, setting("facts.linux.cloud_init.datasources", None), label="auto",
         message="detects OpenStack/ConfigDrive itself"),
    case("IMG-SW-001", "fail", debian, setting("facts.linux.cloud_init.installed", False), message="not installed",
         remediation="apt-get install cloud-init"),
    case("IMG-SW-001", "fail", rhel, setting("facts.linux.cloud_init.datasources", ["Ec2", "None"]), label="datasource",
         message="['Ec2', 'None'] has none the platform serves", remediation="dnf install cloud-init"),
    case("IMG-SW-002", "pass", windows, message="Cloudbase-Init is installed"),
    case("IMG-SW-002", "fail", windows, setting("facts.windows.cloudbase_init", False), message="not installed",
         remediation="CloudbaseInitSetup"),
    case("IMG-SW-002", "skip", debian, label="linux", message="not a Windows guest (linux)"),
    case("IMG-SW-003", "pass", debian, message="installed and enabled"),
    case("IMG-SW-003", "fail", debian, setting("facts.linux.ssh_server.enabled", False), message="not enabled",
         remediation="systemctl enable ssh"),
    case("IMG-SW-003", "fail", rhel, setting("facts.linux.ssh_server.installed", False), label="absent",
         message="no SSH server", remediation="systemctl enable sshd"),
    case("IMG-SW-004", "pass", windows, message="Remote Desktop is enabled"),
    case("IMG-SW-004", "fail", windows, setting("facts.windows.rdp_enabled", False), message="fDenyTSConnections=1"),
    case("IMG-SW-005", "pass", debian, setting("facts.linux.guest_tools", ["qemu-guest-agent"]),
         message="no other hypervisor"),
    case("IMG-SW-005", "fail", debian, setting("facts.linux.guest_tools", ["open-vm-tools", "qemu-guest-agent"]),
         message="installed: open-vm-tools", remediation="apt-get purge open-vm-tools"),
    case("IMG-SW-005", "fail", windows, setting("facts.windows.guest_tools", ["vmware-tools"]), label="windows",
         message="vmware-tools", remediation="Programs and Features"),
]


@pytest.mark.parametrize("c", CASES)
def test_software_check(c):
    verify(c)
