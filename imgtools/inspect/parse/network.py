"""Network configuration of every system imgtools meets: how each interface gets its address.

Each parser returns :class:`~imgtools.facts.NetInterface` records for one
file.  ``method`` is dhcp, static, manual (brought up without an address)
or unknown; ``mac`` is set when the file ties the configuration to a MAC
address, which a new virtual NIC will not have.
"""

from __future__ import annotations

import configparser
from pathlib import PurePosixPath
from typing import Any

import yaml

from imgtools.facts import NetInterface
from imgtools.inspect.parse.shellvars import shell_vars

_TRUE = {"yes", "true", "on", "1", "y"}


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in _TRUE


def _mac(value: Any) -> str | None:
    text = str(value or "").strip().strip("\"'").lower()
    return text or None


# -- RHEL / SUSE ifcfg --

_IFCFG_METHODS = {"dhcp": "dhcp", "dhcp4": "dhcp", "dhcp+autoip": "dhcp", "bootp": "dhcp",
                  "static": "static", "none": "static", "": "static", "autoip": "manual"}


def parse_ifcfg(path: str, text: str) -> list[NetInterface]:
    """/etc/sysconfig/network-scripts/ifcfg-X (RHEL) or /etc/sysconfig/network/ifcfg-X (SUSE, wicked).

    ``BOOTPROTO=none`` or missing with ``IPADDR`` is static (RHEL); SUSE's
    ``static`` likewise; without an address it is manual.  The loopback
    file is skipped.
    """
    values = shell_vars(text)
    # NAME is NetworkManager's connection name ("System eth0"), not the device
    name = values.get("DEVICE") or PurePosixPath(path).name.removeprefix("ifcfg-")
    if name == "lo":
        return []
    proto = values.get("BOOTPROTO", "").strip().lower()
    method = _IFCFG_METHODS.get(proto, "unknown")
    if method == "static" and not any(k.startswith("IPADDR") for k in values):
        method = "manual"
    system = "wicked" if "/sysconfig/network/" in path else "ifcfg"
    return [NetInterface(name=name, source=path, config_system=system, method=method,
                         mac=_mac(values.get("HWADDR") or values.get("MACADDR") or values.get("LLADDR")),
                         onboot=_ifcfg_onboot(values))]


#: SUSE STARTMODE values that bring the interface up at boot.
_SUSE_STARTS = {"auto", "onboot", "boot", "hotplug", "nfsroot"}


def _ifcfg_onboot(values: dict[str, str]) -> bool | None:
    """RHEL ``ONBOOT`` (a minimal install leaves ``no``), SUSE ``STARTMODE``."""
    if "ONBOOT" in values:
        return _truthy(values["ONBOOT"])
    if "STARTMODE" in values:
        return values["STARTMODE"].strip().lower() in _SUSE_STARTS
    return None


# -- Debian /etc/network/interfaces --

_INTERFACES_METHODS = {"dhcp": "dhcp", "static": "static", "manual": "manual"}


def interfaces_includes(text: str) -> list[str]:
    """``source`` and ``source-directory`` arguments (globs and directories), in order, for the caller to follow."""
    found = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] in ("source", "source-directory"):
            found.extend(words[1:])
    return found


def parse_interfaces(path: str, text: str) -> list[NetInterface]:
    """``iface X inet dhcp|static|manual`` stanzas (loopback skipped) with their ``hwaddress``.

    ``onboot`` is true for interfaces named on an ``auto`` or
    ``allow-hotplug`` line of the same file; otherwise unknown, since such a
    line may sit in another included file.
    """
    interfaces: list[NetInterface] = []
    started: set[str] = set()
    current: NetInterface | None = None
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        if words[0] == "iface" and len(words) >= 4:
            current = None
            if words[3] == "loopback" or words[1] == "lo" or words[2] != "inet":
                continue
            current = NetInterface(name=words[1], source=path, config_system="interfaces",
                                   method=_INTERFACES_METHODS.get(words[3], "unknown"))
            interfaces.append(current)
        elif words[0] in ("auto", "allow-auto", "allow-hotplug"):
            started.update(words[1:])
            current = None
        elif words[0] in ("source", "source-directory", "mapping") or words[0].startswith("allow-"):
            current = None
        elif current is not None and words[0] == "hwaddress" and len(words) >= 2:
            current.mac = _mac(words[-1])
    for interface in interfaces:
        interface.onboot = True if interface.name in started else None
    return interfaces


# -- netplan (Ubuntu 18.04+) --

_NETPLAN_KINDS = ("ethernets", "bonds", "bridges", "vlans", "wifis")


def parse_netplan(path: str, text: str) -> list[NetInterface]:
    """/etc/netplan/*.yaml: ``dhcp4: true``, ``addresses``, ``match: macaddress``, ``set-name``.

    An interface matched by MAC is reported under its ``set-name`` when it has one.
    """
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    network = document.get("network") if isinstance(document, dict) else None
    if not isinstance(network, dict):
        return []
    interfaces = []
    for kind in _NETPLAN_KINDS:
        section = network.get(kind)
        if not isinstance(section, dict):
            continue
        for key, settings in section.items():
            settings = settings if isinstance(settings, dict) else {}
            match = settings.get("match") if isinstance(settings.get("match"), dict) else {}
            if _truthy(settings.get("dhcp4")) or _truthy(settings.get("dhcp6")):
                method = "dhcp"
            elif settings.get("addresses"):
                method = "static"
            else:
                method = "manual"
            interfaces.append(NetInterface(
                name=str(settings.get("set-name") or match.get("name") or key), source=path,
                config_system="netplan", method=method,
                mac=_mac(match.get("macaddress") or settings.get("macaddress")), onboot=True,
            ))
    return interfaces


# -- NetworkManager keyfiles --

_NM_METHODS = {"auto": "dhcp", "manual": "static", "disabled": "manual", "link-local": "manual", "shared": "static"}


def _ini(text: str, *, strict_keys: bool) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False, allow_no_value=True,
                                       delimiters=("=",), comment_prefixes=("#", ";"))
    if strict_keys:
        parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(text)
    except configparser.Error:
        pass
    return parser


def parse_nm_keyfile(path: str, text: str) -> list[NetInterface]:
    """/etc/NetworkManager/system-connections/*.nmconnection: ethernet connections only.

    A file without a ``[connection]`` section is one NetworkManager ignores.

    ``[ipv4] method=auto`` is DHCP (NetworkManager's default when absent),
    ``manual`` static; ``[ethernet] mac-address`` pins the MAC;
    ``autoconnect=false`` leaves it down at boot.
    """
    parser = _ini(text, strict_keys=False)
    kind = parser.get("connection", "type", fallback="ethernet")
    if not parser.has_section("connection") or kind not in ("ethernet", "802-3-ethernet", "bond", "bridge", "vlan"):
        return []
    name = parser.get("connection", "interface-name", fallback=None) or parser.get(
        "connection", "id", fallback=PurePosixPath(path).stem)
    method = _NM_METHODS.get(parser.get("ipv4", "method", fallback="auto").strip(), "unknown")
    mac = parser.get("ethernet", "mac-address", fallback=None) or parser.get("802-3-ethernet", "mac-address", fallback=None)
    onboot = _truthy(parser.get("connection", "autoconnect", fallback="true"))
    return [NetInterface(name=name, source=path, config_system="networkmanager", method=method, mac=_mac(mac),
                         onboot=onboot)]


# -- systemd-networkd --

def parse_networkd(path: str, text: str) -> list[NetInterface]:
    """/etc/systemd/network/*.network: ``[Match] Name=``/``MACAddress=``, ``[Network] DHCP=``/``Address=``.

    A ``.network`` file matching by name glob only (``Name=en*``) is reported
    with that glob as its name.
    """
    parser = _ini(text, strict_keys=True)
    name = parser.get("Match", "Name", fallback=None)
    mac = parser.get("Match", "MACAddress", fallback=None)
    name = name.split()[0] if name and name.split() else PurePosixPath(path).stem
    if name == "lo":
        return []
    dhcp = parser.get("Network", "DHCP", fallback="no").strip().lower()
    has_address = parser.has_option("Network", "Address") or parser.has_section("Address")
    if dhcp in ("yes", "true", "ipv4", "ipv6", "both", "1"):
        method = "dhcp"
    elif has_address:
        method = "static"
    else:
        method = "manual"
    return [NetInterface(name=name, source=path, config_system="networkd", method=method,
                         mac=_mac(mac.split()[0]) if mac and mac.split() else None, onboot=True)]
