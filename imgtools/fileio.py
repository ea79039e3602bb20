"""Files written whole or not at all."""

from __future__ import annotations

import os
import tempfile

#: Suffix of every file imgtools writes before renaming it into place.
PARTIAL_SUFFIX = ".imgtools-partial"


def write_atomically(path: str | os.PathLike, content: str | bytes) -> None:
    """Write ``content`` (text as UTF-8) to ``path`` through a temporary file in the same folder
    and a rename: readers see the old file or the whole new one, never half of it."""
    target = os.fspath(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=PARTIAL_SUFFIX,
                               dir=os.path.dirname(os.path.abspath(target)))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 is for secrets; reports and caches are not
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
