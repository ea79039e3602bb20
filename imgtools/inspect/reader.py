"""Reading the guest's files through the appliance, where a failure is a warning, not a crash.

The guest is untrusted and may be damaged: a file that cannot be read is
reported in ``facts.inspection.warnings`` and the inspection goes on.  A file
that simply does not exist is not worth a warning.
"""

from __future__ import annotations

import errno
import fnmatch
import os
from typing import Callable, Sequence

#: The largest file read whole (a kernel config is ~300 KiB); pread's limit is about 2 MiB.
MAX_CONFIG_BYTES = 1 << 20


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
        self._surveyed: set[str] = set()
        self._found: list[str] = []

    def survey(self, patterns: Sequence[str]) -> None:
        """Learn in ONE call which of these paths/globs exist; later lookups of them cost nothing.

        Each call is a round trip to the appliance, a good part of a second
        under TCG on a busy host: asking once for every file imgtools may read
        is what keeps inspection faster than virt-inspector.
        """
        self._found = [path.rstrip("/") for path in self.existing(patterns)]
        self._surveyed = set(patterns)

    def _known(self, pattern: str) -> list[str] | None:
        """The surveyed matches of ``pattern``, or None when it was not surveyed."""
        if pattern not in self._surveyed:
            return None
        return [path for path in self._found if fnmatch.fnmatchcase(path, pattern)]

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
        """At most MAX_CONFIG_BYTES in ONE call (pread), never a host copy of a hostile huge file."""
        if self._known(path) == []:
            return None
        data = self.attempt(path, self.g.pread, path, MAX_CONFIG_BYTES, 0)
        if data is not None and len(data) >= MAX_CONFIG_BYTES:
            self.warn(f"skipped {path}: larger than {MAX_CONFIG_BYTES} bytes, too large for a configuration file")
            return None
        return data

    def text(self, path: str) -> str | None:
        data = self.read(path)
        return None if data is None else data.decode("utf-8", "replace")

    def texts(self, pattern: str) -> list[tuple[str, str]]:
        """(path, text) of every regular file matching the glob, sorted by path."""
        found = []
        for path in self.glob(pattern):
            content = self.text(path)  # a directory reads as missing
            if content is not None:
                found.append((path, content))
        return found

    def glob(self, pattern: str) -> list[str]:
        known = self._known(pattern)
        if known is not None:
            return known
        return sorted(self.attempt(pattern, self.g.glob_expand, pattern, default=[]))

    def ls(self, directory: str) -> list[str]:
        return sorted(self.attempt(directory, self.g.ls, directory, default=[]))

    def exists(self, path: str) -> bool:
        known = self._known(path)
        if known is not None:
            return bool(known)
        return bool(self.attempt(path, self.g.exists, path, default=False))

    def existing(self, patterns: Sequence[str]) -> list[str]:
        """Every path matching any of the absolute globs, in one call (a brace glob); dirs end in "/"."""
        if not patterns:
            return []
        joined = patterns[0] if len(patterns) == 1 else "/{" + ",".join(p.lstrip("/") for p in patterns) + "}"
        return sorted(set(self.attempt("the guest's files", self.g.glob_expand, joined, default=[])))

    def any_exists(self, patterns: Sequence[str]) -> bool:
        return any(self.glob(p) if "*" in p else self.exists(p) for p in patterns)

    def realpath(self, path: str) -> str | None:
        """The path with guest symlinks resolved inside the guest (usrmerge /lib → usr/lib)."""
        return self.attempt(path, self.g.realpath, path)
