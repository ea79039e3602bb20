"""/etc/fstab, read the way util-linux reads it."""

from __future__ import annotations

import re

from imgtools.facts import FstabEntry
from imgtools.inspect.parse.devspec import classify

_OCTAL = re.compile(r"\\([0-7]{3})")


def unescape(field: str) -> str:
    r"""Undo fstab's octal escapes (``\040`` is a space, ``\011`` a tab)."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_fstab(text: str) -> list[FstabEntry]:
    """Entries in file order; comments, blank and one-field lines are skipped.

    Missing fields take util-linux's defaults (fstype ``auto``, options
    ``defaults``); swap entries keep their mountpoint (``none`` or ``swap``).
    ``nofail`` is true when a missing device cannot stop the boot: the entry
    says ``nofail`` or ``noauto``.
    """
    entries = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 2:
            continue
        spec, mountpoint = unescape(fields[0]), unescape(fields[1])
        fstype = fields[2] if len(fields) > 2 else "auto"
        options = [unescape(o) for o in fields[3].split(",") if o] if len(fields) > 3 else ["defaults"]
        entries.append(FstabEntry(
            spec=classify(spec),
            mountpoint=mountpoint,
            fstype=fstype,
            options=options,
            nofail=any(o in ("nofail", "noauto") for o in options),
        ))
    return entries
