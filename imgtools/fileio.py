"""Files written whole or not at all."""

from __future__ import annotations

import os
import tempfile

#: Suffix of every file imgtools writes before renaming it into place.
PARTIAL_SUFFIX = ".imgtools-partial"


def write_atomically(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename:
    readers see the old file or the whole new one, never half of it."""
    target = os.fspath(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=PARTIAL_SUFFIX,
                               dir=os.path.dirname(os.path.abspath(target)))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 is for secrets; a report is not one
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
