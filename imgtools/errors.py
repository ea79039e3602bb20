"""The one hierarchy for "could not run".

Findings about an image are data, never exceptions.  An exception derived from
:class:`ImgtoolsError` means the tool could not do what was asked; its message is
one line that names the cause and what to do, and the CLI prints it as is.
"""

from __future__ import annotations


class ImgtoolsError(Exception):
    """Base of every error a user can act on.  ``exit_code`` is what the CLI returns."""

    exit_code = 2


class UsageError(ImgtoolsError):
    """A bad option, argument or combination of them."""


class EnvironmentProblem(ImgtoolsError):
    """Something the machine lacks or refuses: a missing tool, no space, no appliance."""


class ToolMissingError(EnvironmentProblem):
    """An external program (qemu-img, libguestfs) is not installed."""


class ToolFailedError(EnvironmentProblem):
    """An external program failed, timed out or was killed."""

    def __init__(self, message: str, *, returncode: int | None = None, stderr: str = ""):
        super().__init__(message)
        self.returncode = returncode
        self.stderr = stderr


class VerificationError(ImgtoolsError):
    """A converted image does not read the same as its source; it was discarded."""


class NoSpaceError(EnvironmentProblem):
    """The destination has not enough free space for the output."""


class InspectionError(EnvironmentProblem):
    """The libguestfs appliance could not be launched or could not read the guest."""


class ImageAccessError(ImgtoolsError):
    """The image path is missing, unreadable, or not a regular file."""


class UnsafeImageError(ImgtoolsError):
    """The probe rejected the image; nothing may open it with qemu or libguestfs.

    Exit code 1: the image itself is the problem, not the invocation.
    """

    exit_code = 1

    def __init__(self, message: str, probe_result=None):
        super().__init__(message)
        self.probe_result = probe_result


class ProfileError(UsageError):
    """A profile or manifest file is invalid; the message names the file and line."""


class Interrupted(ImgtoolsError):
    """The user pressed Ctrl-C; whatever was half-done has been removed."""

    exit_code = 130
