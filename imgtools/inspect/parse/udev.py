"""udev rules that pin network interface names to MAC addresses.

Huawei Cloud (and every cloud) gives the imported guest new NICs with new
MACs; a rule such as 70-persistent-net.rules then renames them eth1, eth2…
and the configuration written for eth0 never applies.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

_PINS_NAME = re.compile(r'ATTRS?\{address\}\s*==.*\bNAME\s*:?=\s*"', re.IGNORECASE)
_RULES_DIRS = ("etc/udev/rules.d/", "lib/udev/rules.d/", "usr/lib/udev/rules.d/")


def _named_persistent_net(path: str) -> bool:
    name = PurePosixPath(path).name.lower()
    return name.endswith(".rules") and "persistent" in name and "net" in name


def is_persistent_net_rule(path: str, text: str) -> bool:
    """The file is named like a persistent-net rules file, or one of its rules sets NAME= by MAC address."""
    if _named_persistent_net(path) and any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines()):
        return True
    return any(_PINS_NAME.search(line) for line in text.splitlines() if not line.lstrip().startswith("#"))


def net_rules_in_listing(members: list[str]) -> list[str]:
    """Persistent-net rules files inside an initramfs listing (members are archive paths)."""
    found = []
    for member in members:
        path = member.removeprefix("./").lstrip("/")
        if path.startswith(_RULES_DIRS) and _named_persistent_net(path):
            found.append(member)
    return found
