"""The one process seam to qemu-img.

Every qemu-img command line is built by a function here, so tests can assert
the exact argv, and run by :func:`run`, which applies the timeout, resource
limits (as Nova does for ``qemu-img info``), progress parsing and error
translation.  Rules that hold for every call:

* ``-f`` always names the format the probe found: qemu-img never guesses;
* reads pass ``--force-share`` so a running VM's lock never blocks us and we
  never take a write lock on the source;
* machine-readable output uses ``--output=json``.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from .errors import ToolFailedError, ToolMissingError
from .formats import qemu_driver

#: Environment variable that points at another qemu-img binary.
BINARY_ENV = "IMGTOOLS_QEMU_IMG"


@dataclass(frozen=True)
class ResourceLimits:
    """Limits applied in the child before exec (``None``: unlimited)."""

    address_space: int | None = None
    cpu_seconds: int | None = None

    def apply(self) -> None:
        if self.address_space is not None:
            resource.setrlimit(resource.RLIMIT_AS, (self.address_space, self.address_space))
        if self.cpu_seconds is not None:
            resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds, self.cpu_seconds))


#: For info/check/measure: a header that asks for gigabytes of tables or
#: minutes of CPU is hostile (CVE-2015-5162); Nova uses 1 GiB and 30 s.
INSPECT_LIMITS = ResourceLimits(address_space=1 << 30, cpu_seconds=30)
#: For convert/compare: the work is proportional to the data, so no CPU cap,
#: but memory stays bounded.
STREAM_LIMITS = ResourceLimits(address_space=4 << 30, cpu_seconds=None)

INSPECT_TIMEOUT = 120.0

_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not in the forked child


def _child_setup(limits: ResourceLimits | None) -> Callable[[], None]:
    """Runs in the child before exec: die with imgtools, then apply the limits.

    The child has its own session, so without the death signal a SIGKILLed
    imgtools (a batch supervisor's timeout) would leave qemu-img running.
    """

    def setup() -> None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if limits:
            limits.apply()

    return setup


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as exc:
            raise ToolFailedError(
                f"qemu-img {self.argv[1]} printed no JSON ({exc}); is qemu-img too old?",
                returncode=self.returncode,
                stderr=self.stderr,
            ) from None


def binary() -> str:
    """The qemu-img to run; a clear error when there is none."""
    name = os.environ.get(BINARY_ENV, "qemu-img")
    found = shutil.which(name)
    if not found:
        raise ToolMissingError(
            f"{name} not found: install it (Debian/Ubuntu: apt-get install qemu-utils; "
            f"RHEL: dnf install qemu-img) or set {BINARY_ENV}"
        )
    return found


def _options(options: dict[str, str] | None) -> list[str]:
    if not options:
        return []
    return ["-o", ",".join(f"{k}={v}" for k, v in options.items())]


# -- argv builders: the only places that know qemu-img's command-line syntax --

def info_argv(path: str, fmt: str) -> list[str]:
    return [binary(), "info", "-f", qemu_driver(fmt), "--output=json", "--force-share", path]


def check_argv(path: str, fmt: str) -> list[str]:
    return [binary(), "check", "-f", qemu_driver(fmt), "--output=json", "--force-share", path]


def measure_argv(path: str, fmt: str, out_fmt: str, options: dict[str, str] | None = None) -> list[str]:
    return [
        binary(), "measure", "--output=json", "-f", qemu_driver(fmt), "-O", out_fmt, *_options(options),
        "--force-share", path,
    ]


def convert_argv(
    src: str,
    src_fmt: str,
    dst: str,
    out_fmt: str,
    *,
    options: dict[str, str] | None = None,
    compress: bool = False,
    progress: bool = False,
    target_exists: bool = False,
) -> list[str]:
    """``qemu-img convert``; ``target_exists`` writes into an image just made by
    :func:`create_argv` (``-n``), which reads as zeroes, so holes need no writes."""
    argv = [binary(), "convert", "-f", qemu_driver(src_fmt), "-O", out_fmt, "--force-share"]
    if progress:
        argv.append("-p")
    if compress:
        argv.append("-c")
    if target_exists:
        argv += ["-n", "--target-is-zero"]
    else:
        argv += _options(options)
    return argv + [src, dst]


def create_argv(path: str, fmt: str, size: int, options: dict[str, str] | None = None) -> list[str]:
    return [binary(), "create", "-q", "-f", fmt, *_options(options), path, str(size)]


def compare_argv(a: str, a_fmt: str, b: str, b_fmt: str, *, progress: bool = False) -> list[str]:
    argv = [binary(), "compare", "-f", qemu_driver(a_fmt), "-F", qemu_driver(b_fmt), "--force-share"]
    if progress:
        argv.append("-p")
    return argv + [a, b]


# -- running --

_PROGRESS = re.compile(rb"\((\d+(?:\.\d+)?)/100%\)")


def run(
    argv: Sequence[str],
    *,
    timeout: float | None = INSPECT_TIMEOUT,
    limits: ResourceLimits | None = INSPECT_LIMITS,
    ok_codes: Sequence[int] = (0,),
    on_progress: Callable[[float], None] | None = None,
) -> Result:
    """Run qemu-img and return its output, or raise :class:`ToolFailedError`.

    The child runs in its own session so a terminal's Ctrl-C reaches only us;
    on any exit path (timeout, KeyboardInterrupt, error) the child is killed
    and reaped before this returns.
    """
    env = {**os.environ, "LC_ALL": "C"}
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
            preexec_fn=_child_setup(limits),
        )
    except FileNotFoundError:
        raise ToolMissingError(f"{argv[0]} not found: install qemu-utils") from None

    stdout_chunks: list[bytes] = []
    stderr_chunks: list[bytes] = []

    def pump_stdout() -> None:
        assert proc.stdout is not None
        for chunk in iter(lambda: proc.stdout.read1(4096), b""):
            stdout_chunks.append(chunk)
            if on_progress:
                matches = _PROGRESS.findall(chunk)
                if matches:
                    on_progress(float(matches[-1]))

    def pump_stderr() -> None:
        assert proc.stderr is not None
        for chunk in iter(lambda: proc.stderr.read1(4096), b""):
            stderr_chunks.append(chunk)

    readers = [threading.Thread(target=pump_stdout, daemon=True), threading.Thread(target=pump_stderr, daemon=True)]
    for reader in readers:
        reader.start()
    started = time.monotonic()
    try:
        returncode = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise ToolFailedError(
            f"qemu-img {argv[1]} did not finish within {timeout:g} s and was stopped; "
            "the image may be hostile or the storage very slow"
        ) from None
    except BaseException:
        _kill(proc)
        raise
    finally:
        for reader in readers:
            reader.join(timeout=5)
    stdout = b"".join(stdout_chunks).decode("utf-8", "replace")
    stderr = b"".join(stderr_chunks).decode("utf-8", "replace").strip()
    if returncode < 0:
        sig = signal.Signals(-returncode).name
        hint = ""
        if limits and (-returncode in (signal.SIGKILL, signal.SIGXCPU, signal.SIGSEGV, signal.SIGABRT)):
            hint = " (it hit the memory or CPU limit imgtools sets: the image asks for absurd resources)"
        raise ToolFailedError(
            f"qemu-img {argv[1]} was killed by {sig} after {time.monotonic() - started:.1f} s{hint}",
            returncode=returncode,
            stderr=stderr,
        )
    if returncode not in ok_codes:
        last = stderr.splitlines()[-1] if stderr else "no message"
        raise ToolFailedError(
            f"qemu-img {argv[1]} failed (exit {returncode}): {last}", returncode=returncode, stderr=stderr
        )
    return Result(tuple(argv), returncode, stdout, stderr)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def version() -> str:
    """qemu-img's version string, for manifests."""
    out = run([binary(), "--version"], limits=None).stdout
    match = re.search(r"version (\S+)", out)
    return match.group(1) if match else out.strip().splitlines()[0]
