"""Software checks: first-boot agents, remote access, and leftovers of the old hypervisor."""

from __future__ import annotations

from typing import Any, Mapping

from ..facts import Facts
from .registry import Check, Outcome, failed, list_param, passed
from .remedies import WHERE

IMS_LINUX_DOC = "https://support.huaweicloud.com/intl/en-us/usermanual-ims/ims_01_0209.html"
IMS_WINDOWS_DOC = "https://support.huaweicloud.com/intl/en-us/usermanual-ims/ims_01_0204.html"


def _cloud_init(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    ci = facts.facts.linux.cloud_init
    wanted = params["datasources"]
    if not ci.installed:
        return failed("cloud-init is not installed: no SSH keys, password or hostname from the platform")
    version = f"cloud-init {ci.version}" if ci.version else "cloud-init"
    if ci.datasources is None:
        return passed(f"{version} without a datasource_list: it detects {'/'.join(wanted)} itself")
    served = [d for d in ci.datasources if d in wanted]
    if not served:
        return failed(f"{version} datasource_list {ci.datasources} has none the platform serves ({', '.join(wanted)})")
    return passed(f"{version} with datasource {', '.join(served)}")


def _cloudbase_init(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    if not facts.facts.windows.cloudbase_init:
        return failed("Cloudbase-Init is not installed: no password, hostname or user data from the platform")
    return passed("Cloudbase-Init is installed")


def _ssh(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    ssh = facts.facts.linux.ssh_server
    if not ssh.installed:
        return failed("no SSH server is installed")
    if ssh.enabled is False:
        return failed("the SSH server is installed but not enabled at boot")
    return passed("an SSH server is installed" + (" and enabled" if ssh.enabled else ""))


def _rdp(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    rdp = facts.facts.windows.rdp_enabled
    if rdp is None:
        return failed("Remote Desktop setting not found (fDenyTSConnections missing)")
    if not rdp:
        return failed("Remote Desktop is disabled (fDenyTSConnections=1)")
    return passed("Remote Desktop is enabled")


def _guest_tools(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    details = facts.facts.linux or facts.facts.windows
    found = [tool for tool in (details.guest_tools if details else []) if tool not in params["allowed"]]
    if found:
        return failed(f"other hypervisors' guest tools are installed: {', '.join(found)}")
    return passed("no other hypervisor's guest tools")


CHECKS = (
    Check(
        id="IMG-SW-001",
        slug="cloud-init",
        title="cloud-init is installed with a datasource the platform serves",
        default_severity="warning",
        applies_to="linux",
        rationale="cloud-init sets the SSH key, password, hostname and user data at first boot; with a "
        "datasource the platform does not serve it waits for minutes and then does nothing.",
        remediation={
            "debian": f"{WHERE}\napt-get install cloud-init\necho 'datasource_list: [ OpenStack, ConfigDrive ]' > "
            "/etc/cloud/cloud.cfg.d/90_datasource.cfg   # use the profile's datasources",
            "rhel": f"{WHERE}\ndnf install cloud-init   # EulerOS/CentOS 7: yum install cloud-init\n"
            "echo 'datasource_list: [ OpenStack, ConfigDrive ]' > /etc/cloud/cloud.cfg.d/90_datasource.cfg",
            "suse": f"{WHERE}\nzypper install cloud-init && systemctl enable cloud-init-local cloud-init "
            "cloud-config cloud-final\necho 'datasource_list: [ OpenStack, ConfigDrive ]' > "
            "/etc/cloud/cloud.cfg.d/90_datasource.cfg",
            "any": f"{WHERE}\nInstall cloud-init from the distribution and set datasource_list to the platform's "
            "datasources in /etc/cloud/cloud.cfg.d/90_datasource.cfg (Huawei/OpenStack: [ OpenStack, ConfigDrive ], "
            "AWS: [ Ec2 ], Azure: [ Azure ], GCE: [ GCE ]).",
        },
        docs="https://support.huaweicloud.com/intl/en-us/usermanual-ims/ims_01_0407.html",
        evaluate=_cloud_init,
        params={"datasources": list_param(["OpenStack", "ConfigDrive"], "datasources the platform serves")},
    ),
    Check(
        id="IMG-SW-002",
        slug="cloudbase-init",
        title="Cloudbase-Init is installed (Windows)",
        default_severity="warning",
        applies_to="windows",
        rationale="Cloudbase-Init sets the Administrator password, hostname and user data at first boot of a "
        "Windows image on OpenStack-style clouds.",
        remediation={
            "any": "Install CloudbaseInitSetup_x64.msi (msiexec /i CloudbaseInitSetup_x64.msi /qn), set "
            "metadata_services=cloudbaseinit.metadata.services.httpservice.HttpService in cloudbase-init.conf, "
            "and generalize with Sysprep if SIDs must differ.",
        },
        docs=IMS_WINDOWS_DOC,
        evaluate=_cloudbase_init,
    ),
    Check(
        id="IMG-SW-003",
        slug="ssh-server",
        title="An SSH server is installed and enabled",
        default_severity="error",
        applies_to="linux",
        rationale="Without sshd nobody can log in to the imported VM except through the console.",
        remediation={
            "debian": f"{WHERE}\napt-get install openssh-server && systemctl enable ssh",
            "rhel": f"{WHERE}\ndnf install openssh-server && systemctl enable sshd",
            "suse": f"{WHERE}\nzypper install openssh && systemctl enable sshd",
            "any": f"{WHERE}\nInstall openssh-server and enable it (systemctl enable ssh or sshd).",
        },
        docs=IMS_LINUX_DOC,
        evaluate=_ssh,
    ),
    Check(
        id="IMG-SW-004",
        slug="rdp-enabled",
        title="Remote Desktop is enabled (Windows)",
        default_severity="error",
        applies_to="windows",
        rationale="Remote Desktop is the only way into an imported Windows VM besides the console.",
        remediation={
            "any": "reg add \"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\" /v fDenyTSConnections "
            "/t REG_DWORD /d 0 /f && netsh advfirewall firewall set rule group=\"remote desktop\" new enable=Yes",
        },
        docs=IMS_WINDOWS_DOC,
        evaluate=_rdp,
    ),
    Check(
        id="IMG-SW-005",
        slug="no-foreign-guest-tools",
        title="No other hypervisor's guest tools are installed",
        default_severity="warning",
        applies_to="any",
        rationale="VMware Tools, VirtualBox additions or Hyper-V daemons fail at boot on another hypervisor, "
        "and some (VMware Tools' vmxnet drivers) block the platform's own drivers.",
        remediation={
            "debian": f"{WHERE}\napt-get purge open-vm-tools virtualbox-guest-utils hyperv-daemons; "
            "VMware Tools from tarball: /usr/bin/vmware-uninstall-tools.pl",
            "rhel": f"{WHERE}\ndnf remove open-vm-tools virtualbox-guest-additions hyperv-daemons; "
            "VMware Tools from tarball: /usr/bin/vmware-uninstall-tools.pl",
            "suse": f"{WHERE}\nzypper remove open-vm-tools virtualbox-guest-tools hyper-v",
            "windows": "Uninstall VMware Tools / VirtualBox Guest Additions from Programs and Features "
            "(msiexec /x {product-code} /qn) before export.",
            "any": "Uninstall the other hypervisors' guest tools with the guest's package manager "
            "(open-vm-tools, VMware Tools: vmware-uninstall-tools.pl, VirtualBox additions, hyperv-daemons).",
        },
        docs=IMS_LINUX_DOC,
        evaluate=_guest_tools,
        params={"allowed": list_param(["qemu-guest-agent"], "guest tools that belong on the platform")},
    ),
)
