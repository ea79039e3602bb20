"""Sizes as people write them: ``128GiB``, ``40GB``, ``1.5 MiB``, ``512K`` or bytes.

One reading for the whole tool (profiles, ``--align``): K/M/G/T and KiB/MiB/…
are binary, as qemu-img reads them; KB/MB/GB/TB are decimal, as platform
documents state limits.
"""

from __future__ import annotations

import re

_UNITS = {
    "": 1, "b": 1,
    "k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20,
    "g": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tib": 1 << 40,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")

#: The same grammar as a JSON-schema pattern, for profile validation.
SIZE_PATTERN = r"^\s*\d+(\.\d+)?\s*([KMGT]i?B?|[kmgt]i?b?|B|b)?\s*$"


def parse_size(value: int | str) -> int:
    """Bytes from an integer or a size string; ``ValueError`` names what is wrong."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(value)
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"not a size: {value!r} (write e.g. 128GiB, 1MiB, 40GB or a number of bytes)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
