"""/etc/os-release (and /usr/lib/os-release): the distribution's own name for itself."""

from __future__ import annotations

from imgtools.inspect.parse.shellvars import shell_vars


def parse_os_release(text: str) -> dict[str, str]:
    """``ID``, ``VERSION_ID``, ``PRETTY_NAME``… with quotes removed."""
    return shell_vars(text)
