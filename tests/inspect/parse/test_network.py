import pytest

from imgtools.inspect.parse.network import (
    interfaces_includes, parse_ifcfg, parse_interfaces, parse_netplan, parse_networkd, parse_nm_keyfile,
)

RHEL_7_DHCP = """\
TYPE="Ethernet"
BOOTPROTO="dhcp"
DEFROUTE="yes"
NAME="eth0"
UUID="4ad5c1b0-1a2b-4c3d-9e8f-0a1b2c3d4e5f"
DEVICE="eth0"
ONBOOT="yes"
HWADDR=00:50:56:AB:CD:EF
"""

RHEL_8_STATIC = """\
TYPE=Ethernet
BOOTPROTO=none
IPADDR=192.168.10.20
PREFIX=24
GATEWAY=192.168.10.1
DEVICE=ens192
ONBOOT=yes
"""

SLES_15_DHCP = """\
BOOTPROTO='dhcp'
STARTMODE='auto'
ZONE=''
"""

SLES_12_STATIC = """\
BOOTPROTO='static'
IPADDR='10.0.0.5/24'
STARTMODE='auto'
LLADDR='52:54:00:12:34:56'
"""


@pytest.mark.parametrize("path, text, name, system, method, mac", [
    ("/etc/sysconfig/network-scripts/ifcfg-eth0", RHEL_7_DHCP, "eth0", "ifcfg", "dhcp", "00:50:56:ab:cd:ef"),
    ("/etc/sysconfig/network-scripts/ifcfg-ens192", RHEL_8_STATIC, "ens192", "ifcfg", "static", None),
    ("/etc/sysconfig/network/ifcfg-eth0", SLES_15_DHCP, "eth0", "wicked", "dhcp", None),
    ("/etc/sysconfig/network/ifcfg-eth1", SLES_12_STATIC, "eth1", "wicked", "static", "52:54:00:12:34:56"),
    ("/etc/sysconfig/network-scripts/ifcfg-eth2", "DEVICE=eth2\nONBOOT=yes\nMACADDR=52:54:00:aa:bb:cc\n", "eth2", "ifcfg", "manual", "52:54:00:aa:bb:cc"),
    ("/etc/sysconfig/network-scripts/ifcfg-em1", "BOOTPROTO=bootp\n", "em1", "ifcfg", "dhcp", None),
    ("/etc/sysconfig/network-scripts/ifcfg-em2", "BOOTPROTO=weird\n", "em2", "ifcfg", "unknown", None),
    ("/etc/sysconfig/network-scripts/ifcfg-System_eth0", 'NAME="System eth0"\nBOOTPROTO=dhcp\n', "System_eth0", "ifcfg", "dhcp", None),
])
def test_ifcfg(path, text, name, system, method, mac):
    (interface,) = parse_ifcfg(path, text)
    assert (interface.name, interface.config_system, interface.method, interface.mac) == (name, system, method, mac)
    assert interface.source == path


@pytest.mark.parametrize("text, onboot", [
    (RHEL_7_DHCP, True),
    ("DEVICE=eth0\nBOOTPROTO=dhcp\nONBOOT=no\n", False),       # CentOS 7 minimal install default
    (SLES_15_DHCP, True),
    ("BOOTPROTO='dhcp'\nSTARTMODE='manual'\n", False),
    ("BOOTPROTO='dhcp'\nSTARTMODE='hotplug'\n", True),
    ("BOOTPROTO=dhcp\n", None),
])
def test_ifcfg_onboot(text, onboot):
    (interface,) = parse_ifcfg("/etc/sysconfig/network-scripts/ifcfg-eth0", text)
    assert interface.onboot is onboot


def test_ifcfg_loopback_is_skipped():
    assert parse_ifcfg("/etc/sysconfig/network-scripts/ifcfg-lo", "DEVICE=lo\nIPADDR=127.0.0.1\n") == []


DEBIAN_INTERFACES = """\
# This file describes the network interfaces available on your system
source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug eth0
iface eth0 inet dhcp
    hwaddress ether 00:0C:29:12:34:56
iface eth0 inet6 auto

auto ens4
iface ens4 inet static
    address 10.1.2.3/24
    gateway 10.1.2.1
    dns-nameservers 10.1.2.1

iface bond0 inet manual
source-directory /etc/network/more.d
"""


def test_debian_interfaces():
    interfaces = parse_interfaces("/etc/network/interfaces", DEBIAN_INTERFACES)
    assert [(i.name, i.method, i.mac) for i in interfaces] == [
        ("eth0", "dhcp", "00:0c:29:12:34:56"), ("ens4", "static", None), ("bond0", "manual", None)]
    assert all(i.config_system == "interfaces" for i in interfaces)
    assert [i.onboot for i in interfaces] == [True, True, None]  # bond0 may be started from another file


def test_debian_interfaces_includes():
    assert interfaces_includes(DEBIAN_INTERFACES) == ["/etc/network/interfaces.d/*", "/etc/network/more.d"]
    assert interfaces_includes("iface eth0 inet dhcp\n") == []


UBUNTU_22_CLOUD_INIT = """\
# This file is generated from information provided by the datasource.  Changes
# to it will not persist across an instance reboot.
network:
    ethernets:
        ens3:
            dhcp4: true
            match:
                macaddress: fa:16:3e:aa:bb:cc
            set-name: ens3
    version: 2
"""

UBUNTU_STATIC = """\
network:
  version: 2
  renderer: networkd
  ethernets:
    enp0s3:
      addresses: [192.168.1.10/24]
      routes:
        - to: default
          via: 192.168.1.1
    enp0s8:
      dhcp4: yes
  bonds:
    bond0:
      interfaces: [enp0s9, enp0s10]
      dhcp4: "true"
"""


def test_netplan_cloud_init_pins_mac():
    (interface,) = parse_netplan("/etc/netplan/50-cloud-init.yaml", UBUNTU_22_CLOUD_INIT)
    assert (interface.name, interface.method, interface.mac, interface.config_system) == (
        "ens3", "dhcp", "fa:16:3e:aa:bb:cc", "netplan")


def test_netplan_static_dhcp_yes_and_bonds():
    interfaces = parse_netplan("/etc/netplan/00-installer-config.yaml", UBUNTU_STATIC)
    assert [(i.name, i.method) for i in interfaces] == [("enp0s3", "static"), ("enp0s8", "dhcp"), ("bond0", "dhcp")]


@pytest.mark.parametrize("text", ["", "network: [", "- a\n- b\n", "network:\n  ethernets: 3\n", "network: {}\n"])
def test_netplan_malformed_is_empty(text):
    assert parse_netplan("/etc/netplan/x.yaml", text) == []


RHEL_9_KEYFILE = """\
[connection]
id=System eth0
uuid=5fb06bd0-0bb0-7ffb-45f1-d6edd65f3e03
type=ethernet
autoconnect-priority=-999
interface-name=eth0

[ethernet]
mac-address=52:54:00:12:34:56

[ipv4]
method=auto

[ipv6]
addr-gen-mode=eui64
method=auto
"""

STATIC_KEYFILE = """\
[connection]
id=office
type=ethernet

[ipv4]
address1=10.0.0.2/24,10.0.0.1
method=manual
"""


def test_nm_keyfile_dhcp_with_mac():
    (interface,) = parse_nm_keyfile("/etc/NetworkManager/system-connections/eth0.nmconnection", RHEL_9_KEYFILE)
    assert (interface.name, interface.method, interface.mac, interface.config_system) == (
        "eth0", "dhcp", "52:54:00:12:34:56", "networkmanager")
    assert interface.onboot is True
    (interface,) = parse_nm_keyfile("/x/eth0.nmconnection", RHEL_9_KEYFILE.replace("type=ethernet", "type=ethernet\nautoconnect=false"))
    assert interface.onboot is False


def test_nm_keyfile_static_named_by_id():
    (interface,) = parse_nm_keyfile("/etc/NetworkManager/system-connections/office.nmconnection", STATIC_KEYFILE)
    assert (interface.name, interface.method, interface.mac) == ("office", "static", None)


def test_nm_keyfile_wifi_and_garbage():
    assert parse_nm_keyfile("/x/wlan.nmconnection", "[connection]\ntype=wifi\n") == []
    assert parse_nm_keyfile("/x/broken.nmconnection", "no sections at all = [\n") == []


@pytest.mark.parametrize("text, name, method, mac", [
    ("[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n", "eth0", "dhcp", None),
    ("[Match]\nName=en*\n\n[Network]\nDHCP=ipv4\n", "en*", "dhcp", None),
    ("[Match]\nMACAddress=52:54:00:AB:CD:EF\n\n[Network]\nAddress=10.0.0.3/24\nGateway=10.0.0.1\n",
     "10-static", "static", "52:54:00:ab:cd:ef"),
    ("[Match]\nName=eth1\n\n[Network]\n\n[Address]\nAddress=10.0.0.4/24\n", "eth1", "static", None),
    ("[Match]\nName=eth2\n", "eth2", "manual", None),
])
def test_networkd(text, name, method, mac):
    (interface,) = parse_networkd("/etc/systemd/network/10-static.network", text)
    assert (interface.name, interface.method, interface.mac, interface.config_system) == (name, method, mac, "networkd")


def test_networkd_loopback_is_skipped():
    assert parse_networkd("/etc/systemd/network/lo.network", "[Match]\nName=lo\n") == []
