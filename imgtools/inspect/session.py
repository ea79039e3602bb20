"""One libguestfs appliance per image, read-only, with a remembered KVM/TCG verdict.

Where ``/dev/kvm`` exists but KVM is broken, the first launch fails: qemu
aborts with "failed to set MSR" (nested virtualisation), or the guest stalls
after the BIOS and the launch would wait forever (nested PVM hosts: the host
logs "kvm-pvm: INTERNAL_ERROR", qemu spins); a KVM attempt that has a fallback
is stopped after :data:`KVM_STALL_SECONDS`.  We then relaunch with TCG and
write the verdict to ``cache_dir()/backend.json``, keyed by the host kernel and
the hypervisor binary's version, so later launches go straight to TCG.  A
user's own ``LIBGUESTFS_BACKEND_SETTINGS`` always wins.
Each backend is tried with the fast appliance kernel of :mod:`.kernel` first,
then with the default appliance.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator, Literal, Sequence

from ..cache import cache_dir
from ..errors import InspectionError, ToolMissingError
from ..formats import qemu_driver
from . import kernel

Backend = Literal["kvm", "tcg"]
SETTINGS_ENV = "LIBGUESTFS_BACKEND_SETTINGS"
KVM_DEVICE = "/dev/kvm"
VERDICT_FILE = "backend.json"
#: A working KVM boots the appliance in seconds, even on a loaded host; a KVM attempt
#: still launching after this has stalled and is stopped, so TCG can be tried.
KVM_STALL_SECONDS = 60.0


@dataclass(frozen=True)
class Drive:
    """A disk image for the appliance, always with the format the probe found."""

    path: str
    format: str
    readonly: bool = True


def _guestfs():
    try:
        import guestfs
    except ImportError:
        raise ToolMissingError(
            "the python guestfs binding is missing: apt-get install python3-guestfs libguestfs-tools "
            "(and create the venv with --system-site-packages)"
        ) from None
    return guestfs


@lru_cache(maxsize=None)
def _hv_version(hv: str) -> str:
    """The hypervisor's version line: a new qemu may have fixed (or broken) KVM."""
    try:
        out = subprocess.run([hv, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.splitlines()[0].strip() if out else "unknown"


def verdict_key(hv: str) -> str:
    return f"{platform.release()}|{_hv_version(hv)}"


def _verdict_path() -> Path:
    return cache_dir() / VERDICT_FILE


def remembered_backend(hv: str) -> Backend | None:
    """The backend that worked last time on this kernel + hypervisor, if known."""
    try:
        data = json.loads(_verdict_path().read_text())
        value = data.get(verdict_key(hv))
    except (OSError, ValueError, AttributeError):
        return None
    return value if value in ("kvm", "tcg") else None


def remember_backend(hv: str, backend: Backend) -> None:
    """Record the verdict atomically (other processes may read it concurrently)."""
    path = _verdict_path()
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data[verdict_key(hv)] = backend
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def _user_settings() -> list[str] | None:
    value = os.environ.get(SETTINGS_ENV)
    return value.split(":") if value else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Appliance:
    """A launched handle plus how it was launched."""

    def __init__(self, handle, backend: Backend, seconds: float, attempts: list[Backend],
                 fast_kernel: str | None = None):
        self.g = handle
        self.backend = backend
        self.launch_seconds = seconds
        #: Backends tried, in order: ["kvm", "tcg"] when KVM failed this time.
        self.attempts = attempts
        #: The fast PVH vmlinux the appliance booted (see ``kernel``); None for the default appliance.
        self.fast_kernel = fast_kernel


def _new_handle(drives: Sequence[Drive], settings: list[str] | None):
    guestfs = _guestfs()
    g = guestfs.GuestFS(python_return_dict=True)
    if settings is not None:
        g.set_backend_settings(settings)
    for drive in drives:
        g.add_drive_opts(drive.path, readonly=drive.readonly, format=qemu_driver(drive.format))
    return g


def _try_launch(drives: Sequence[Drive], settings: list[str] | None):
    g = _new_handle(drives, settings)
    try:
        g.launch()
    except RuntimeError:
        g.close()
        raise
    return g


def _launch_preferring_fast_kernel(drives: Sequence[Drive], settings: list[str] | None,
                                   fast: dict[str, str], notify: Callable[[str], None], guard: _StallGuard):
    """Launch with the fast kernel if there is one; if that fails, once more with the default
    appliance, so a backend is judged (and its verdict remembered) on the default appliance only.
    A stalled backend is not tried again: the default appliance would stall as well."""
    if fast:
        try:
            with kernel.environment(fast):
                return _try_launch(drives, settings), fast[kernel.KERNEL_ENV]
        except RuntimeError as exc:
            if guard.fired:
                raise
            notify(f"the fast appliance kernel did not start ({_first_line(exc)}); "
                   "trying the default appliance…")
    return _try_launch(drives, settings), None


class _StallGuard:
    """Stops this process's KVM hypervisors if the launch inside is still running after ``seconds``.

    libguestfs has no launch timeout, and its handle is locked while it launches,
    so the guard finds the hypervisor as a child of this process whose command
    line asks for KVM; any such child is stalled too, as KVM does not work here.
    The stopped launch then fails, and ``fired`` says why.  ``seconds=None``: no guard.
    """

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.fired = False
        self._timer = threading.Timer(seconds, self._stop_kvm_children) if seconds is not None else None
        self._lock = threading.Lock()
        self._over = False

    def __enter__(self) -> _StallGuard:
        if self._timer:
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        with self._lock:  # once the launch is over, nothing is stopped any more
            self._over = True
        if self._timer:
            self._timer.cancel()

    def _stop_kvm_children(self) -> None:
        with self._lock:
            if self._over:
                return
            for pid in _kvm_children():
                self.fired = True
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _kvm_children() -> list[int]:
    """Children of this process started with ``-machine accel=kvm…`` (libguestfs' hypervisor under KVM)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile, or not ours to read
        if ppid == os.getpid() and any(b"accel=kvm" in arg or arg == b"-enable-kvm" for arg in argv):
            found.append(int(entry.name))
    return found


@dataclass(frozen=True)
class Attempt:
    """One way to launch: the backend it means, and the settings to give the handle (None: the user's env)."""

    backend: Backend
    settings: list[str] | None = None


def plan(hv: str) -> list[Attempt]:
    """The launches to try, in order, from the user's settings, the remembered verdict and /dev/kvm."""
    user = _user_settings()
    if user is not None:
        return [Attempt("tcg" if "force_tcg" in user else "kvm", None)]
    known = remembered_backend(hv)
    if known == "tcg" or not os.path.exists(KVM_DEVICE):
        return [Attempt("tcg", ["force_tcg"])]
    if known == "kvm":
        return [Attempt("kvm", [])]
    return [Attempt("kvm", []), Attempt("tcg", ["force_tcg"])]


def hypervisor() -> str:
    """The qemu binary libguestfs will run (it may be overridden by LIBGUESTFS_HV)."""
    handle = _new_handle([], None)
    try:
        return handle.get_hv()
    finally:
        handle.close()


def launch(drives: Sequence[Drive], *, on_progress: Callable[[str], None] | None = None) -> Appliance:
    """Launch one appliance with ``drives``; fall back from KVM to TCG and remember it.

    Raises :class:`InspectionError` with a one-line cause when no backend starts.
    """
    notify = on_progress or (lambda message: None)
    hv = hypervisor()
    attempts = plan(hv)
    started = time.monotonic()
    fast = kernel.fast_kernel_environment()
    tried: list[Backend] = []
    for attempt in attempts:
        notify(f"launching appliance ({attempt.backend.upper()})…")
        tried.append(attempt.backend)
        guarded = attempt.backend == "kvm" and attempt is not attempts[-1]
        try:
            with _StallGuard(KVM_STALL_SECONDS if guarded else None) as guard:
                g, booted = _launch_preferring_fast_kernel(drives, attempt.settings, fast, notify, guard)
        except RuntimeError as exc:
            if attempt is attempts[-1]:
                raise _launch_error(exc) from None
            why = f"had not booted the appliance after {guard.seconds:g} s" if guard.fired else "failed to start the appliance"
            notify(f"{attempt.backend.upper()} {why}; trying the next backend (the verdict is remembered)…")
            continue
        if len(attempts) > 1 and attempt.settings is not None:
            remember_backend(hv, attempt.backend)
        return Appliance(g, attempt.backend, time.monotonic() - started, tried, booted)


def _launch_error(exc: BaseException) -> InspectionError:
    return InspectionError(
        f"libguestfs appliance failed to start: {_first_line(exc)}; run libguestfs-test-tool to see why"
    )


@contextmanager
def open_drives(
    drives: Sequence[Drive], *, on_progress: Callable[[str], None] | None = None
) -> Iterator[Appliance]:
    """Launch, yield, and always shut the appliance down (closing the handle)."""
    appliance = launch(drives, on_progress=on_progress)
    try:
        yield appliance
    finally:
        try:
            appliance.g.shutdown()
        except RuntimeError:
            pass
        appliance.g.close()


@contextmanager
def open_image(image, *, on_progress: Callable[[str], None] | None = None) -> Iterator[Appliance]:
    """Open a probed image (``facts.ImageFacts``) read-only; an unsafe one never gets here."""
    from ..probe import require_safe

    require_safe(image)
    with open_drives([Drive(image.path, image.format)], on_progress=on_progress) as appliance:
        yield appliance
