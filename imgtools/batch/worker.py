"""Run one job in a fresh worker process, with a deadline; ``python -m imgtools.batch.worker`` is that process.

Both executors call :func:`run_isolated`, so a job that hangs (a FIFO as image,
a stuck appliance) or a worker that dies (OOM killer, SIGKILL) is handled the
same way everywhere: the process group is killed, the image gets an ``error``
row saying why, and the next job gets a new process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, Protocol

from .jobs import ImageJob, ImageResult, run_image

#: How often the supervisor looks at its worker, the deadline and the cancel flag.
POLL_SECONDS = 0.1

#: Called with the job and the worker's pid when a worker process starts.
OnStart = Callable[[ImageJob, int], None]


class CancelFlag(Protocol):
    """What stops a batch: a ``threading.Event`` locally, a cluster-wide event on Dask."""

    def is_set(self) -> bool: ...


class _Lost(Exception):
    """The worker process ended without a result."""


def run_isolated(job: ImageJob, *, cancel: CancelFlag | None = None, on_start: OnStart | None = None) -> ImageResult:
    """Run ``job`` in its own process; never raises.

    A worker that dies without a result is retried ``job.retries`` times; a
    job that outlives ``job.timeout`` is stopped and not retried (it would hang
    again); ``cancel`` stops it at once (Ctrl-C).
    """
    started = time.monotonic()
    attempts = 0
    while True:
        attempts += 1
        try:
            result = _attempt(job, started, cancel, on_start)
        except _Lost as lost:
            if attempts <= job.retries and not (cancel and cancel.is_set()):
                continue
            result = ImageResult.failure(job, "error", str(lost))
        result.attempts = attempts
        result.seconds = time.monotonic() - started
        return result


def _attempt(job: ImageJob, started: float, cancel: CancelFlag | None, on_start: OnStart | None) -> ImageResult:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "imgtools.batch.worker"],
            stdin=subprocess.PIPE, stdout=out, stderr=err, start_new_session=True,
        )
        try:
            assert proc.stdin is not None
            proc.stdin.write(job.model_dump_json().encode())
            proc.stdin.close()
            if on_start:
                on_start(job, proc.pid)
            stopped = _supervise(proc, job, started, cancel)
        finally:
            _kill_group(proc)
        if stopped:
            return ImageResult.failure(job, "error", stopped)
        out.seek(0)
        text = out.read().decode("utf-8", "replace").strip()
        if proc.returncode == 0 and text:
            return ImageResult.model_validate_json(text)
        err.seek(0)
        raise _Lost(_death_reason(proc.returncode, err.read().decode("utf-8", "replace")))


def _supervise(proc: subprocess.Popen, job: ImageJob, started: float, cancel: CancelFlag | None) -> str | None:
    """Wait for the worker; the reason it was stopped, or None when it ended by itself."""
    while True:
        try:
            proc.wait(timeout=POLL_SECONDS)
            return None
        except subprocess.TimeoutExpired:
            pass
        if cancel is not None and cancel.is_set():
            return "not finished: the batch was interrupted"
        if time.monotonic() - started > job.timeout:
            return (f"did not finish within {job.timeout:g} s and was stopped (a hung appliance or an image "
                    "that blocks reading); raise the manifest's timeout if the image is merely large")


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the worker and whatever it started (qemu-img, the appliance), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _death_reason(returncode: int, stderr: str) -> str:
    how = f"was killed by {signal.Signals(-returncode).name}" if returncode < 0 else f"exited with status {returncode}"
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    last = f": {lines[-1].strip()[:300]}" if lines else ""
    return f"the worker process {how} before reporting a result{last}"


def _die_with_supervisor(supervisor: int) -> None:
    """When the supervisor dies (SIGKILL, a lost Dask worker), take the process group, appliance included, along."""
    while os.getppid() == supervisor:
        time.sleep(1)
    os.killpg(0, signal.SIGKILL)


def main() -> int:
    """Read one job as JSON on stdin, write its result as JSON on stdout.

    Anything else that writes to stdout (a C library, a stray print) is sent to
    stderr, so the result stream holds only the result.
    """
    threading.Thread(target=_die_with_supervisor, args=(os.getppid(),), daemon=True).start()
    result_stream = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    job = ImageJob.model_validate_json(sys.stdin.read())
    result_stream.write(run_image(job).model_dump_json())
    result_stream.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
