"""/boot/config-<version> and /lib/modules/<version>/modules.builtin."""

from __future__ import annotations

import re

from imgtools.inspect.parse.modules import is_module_file, module_name

_SET = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_UNSET = re.compile(r"^#\s*(CONFIG_[A-Za-z0-9_]+) is not set")


def parse_kernel_config(text: str) -> dict[str, str]:
    """``CONFIG_X=y`` → ``{"CONFIG_X": "y"}``; strings lose their quotes; ``# CONFIG_X is not set`` → ``"n"``."""
    config: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        match = _SET.match(line)
        if match:
            value = match.group(2).strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            config[match.group(1)] = value
            continue
        match = _UNSET.match(line)
        if match:
            config[match.group(1)] = "n"
    return config


def parse_modules_builtin(text: str) -> set[str]:
    """Module names built into the kernel, from modules.builtin's ``kernel/…/x.ko`` lines."""
    return {module_name(line.strip()) for line in text.splitlines() if is_module_file(line.strip())}
