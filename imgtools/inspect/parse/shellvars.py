"""Shell-style ``NAME=value`` files: os-release, /etc/default/grub, ifcfg, selinux.

These files are sourced by shells, but imgtools never runs guest code: it
reads assignments with shell quoting and expands ``$NAME``/``${NAME}`` from
earlier assignments only.
"""

from __future__ import annotations

import re
import shlex

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def _value(raw: str, known: dict[str, str]) -> str:
    raw = raw.strip()
    if not raw.startswith("'"):
        raw = _VARIABLE.sub(lambda m: known.get(m.group(1) or m.group(2), ""), raw)
    try:
        words = shlex.split(raw, comments=True)
    except ValueError:  # unbalanced quotes: keep what is there
        return raw.strip("\"'")
    return " ".join(words)


def shell_vars(text: str) -> dict[str, str]:
    """Assignments in file order (later ones win); other lines are ignored."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        match = _ASSIGNMENT.match(line)
        if match:
            result[match.group(1)] = _value(match.group(2), result)
    return result
