"""Reading the guest's files through the appliance, where a failure is a warning, not a crash.

The guest is untrusted and may be damaged: a file that cannot be read is
reported in ``facts.inspection.warnings`` and the inspection goes on.  A file
that simply does not exist is not worth a warning.
"""

from __future__ import annotations

import errno
import os
from typing import Callable

#: libguestfs' read_file refuses files beyond its message size; configs are far smaller.
MAX_CONFIG_BYTES = 4 << 20


#: The python binding has no errno; the daemon's message carries strerror.  A
#: directory where a file is looked for (SUSE's /etc/sysconfig/network) is no file either.
_MISSING = (os.strerror(errno.ENOENT), os.strerror(errno.ENOTDIR), "is a directory", os.strerror(errno.EISDIR))


def _missing(exc: RuntimeError) -> bool:
    return any(text in str(exc) for text in _MISSING)


class GuestFiles:
    """Thin, forgiving wrappers around the handle's file calls (paths are guest paths)."""

    def __init__(self, g, warnings: list[str]):
        self.g = g
        self.warnings = warnings

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def attempt(self, what: str, call: Callable, *args, default=None):
        """``call(*args)``, or ``default`` with a warning unless the path is just missing."""
        try:
            return call(*args)
        except RuntimeError as exc:
            if not _missing(exc):
                self.warn(f"could not read {what}: {str(exc).splitlines()[0] if str(exc) else exc}")
            return default

    def read(self, path: str) -> bytes | None:
        size = self.attempt(path, self.g.filesize, path)
        if size is None:
            return None
        if size > MAX_CONFIG_BYTES:
            self.warn(f"skipped {path}: {size} bytes is too large for a configuration file")
            return None
        return self.attempt(path, self.g.read_file, path)

    def text(self, path: str) -> str | None:
        data = self.read(path)
        return None if data is None else data.decode("utf-8", "replace")

    def texts(self, pattern: str) -> list[tuple[str, str]]:
        """(path, text) of every regular file matching the glob, sorted by path."""
        found = []
        for path in self.glob(pattern):
            if self.g.is_file(path, followsymlinks=True):
                content = self.text(path)
                if content is not None:
                    found.append((path, content))
        return found

    def glob(self, pattern: str) -> list[str]:
        return sorted(self.attempt(pattern, self.g.glob_expand, pattern, default=[]))

    def ls(self, directory: str) -> list[str]:
        return sorted(self.attempt(directory, self.g.ls, directory, default=[]))

    def exists(self, path: str) -> bool:
        return bool(self.attempt(path, self.g.exists, path, default=False))

    def any_exists(self, patterns: tuple[str, ...]) -> bool:
        return any(self.glob(pattern) if "*" in pattern else self.exists(pattern) for pattern in patterns)

    def realpath(self, path: str) -> str | None:
        """The path with guest symlinks resolved inside the guest (usrmerge /lib → usr/lib)."""
        return self.attempt(path, self.g.realpath, path)
