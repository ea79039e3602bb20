"""/etc/selinux/config: the mode the guest boots in."""

from __future__ import annotations

from typing import Literal

from imgtools.inspect.parse.shellvars import shell_vars

SelinuxMode = Literal["enforcing", "permissive", "disabled"]
_MODES: tuple[SelinuxMode, ...] = ("enforcing", "permissive", "disabled")


def parse_selinux_config(text: str) -> SelinuxMode:
    """``SELINUX=``; a missing or unknown value counts as enforcing, as the kernel's policy load does."""
    value = shell_vars(text).get("SELINUX", "").strip().lower()
    return next((mode for mode in _MODES if mode == value), "enforcing")
