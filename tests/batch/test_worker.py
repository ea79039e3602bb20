"""The supervised worker process: deadlines, killed workers, retries, cancellation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import psutil
import pytest

from imgtools.batch.jobs import ImageJob
from imgtools.batch.worker import run_isolated
from tests.support import make_image


def job_for(path, **settings) -> ImageJob:
    return ImageJob(path=str(path), name=os.path.basename(path), **settings)


def test_a_job_runs_in_another_process_and_reports(tmp_path):
    result = run_isolated(job_for(tmp_path / "missing.raw", line=7))
    assert result.verdict == "error"
    assert result.reason == f"{tmp_path}/missing.raw: no such file; check the path on line 7 of the manifest"
    assert result.attempts == 1
    host, pid = result.worker.rsplit(":", 1)
    assert int(pid) != os.getpid()


def test_a_job_past_its_deadline_is_stopped_with_its_process_group(tmp_path):
    image = make_image(tmp_path / "a.qcow2", "qcow2")  # it would launch the appliance, given the time
    pids = []
    started = time.monotonic()
    result = run_isolated(job_for(image, timeout=0.05), on_start=lambda job, pid: pids.append(pid))
    assert time.monotonic() - started < 5
    assert result.verdict == "error"
    assert "did not finish within 0.05 s" in result.reason
    assert result.attempts == 1  # a hang is not retried: it would hang again
    assert not psutil.pid_exists(pids[0])


def test_a_killed_worker_is_replaced_and_the_job_retried(fleet):
    image = fleet.parent / "hostile.qcow2"  # the probe rejects it: a real verdict without an appliance
    pids = []

    def kill_first(job, pid):
        pids.append(pid)
        if len(pids) == 1:
            os.kill(pid, signal.SIGKILL)

    result = run_isolated(job_for(image, retries=1), on_start=kill_first)
    assert len(pids) == 2 and pids[0] != pids[1]
    assert result.attempts == 2
    assert result.verdict == "fail" and result.report is not None  # the second worker did the job
    assert result.worker.endswith(f":{pids[1]}")


def test_a_worker_killed_every_time_becomes_an_error_row(fleet):
    image = fleet.parent / "hostile.qcow2"
    result = run_isolated(job_for(image, retries=1), on_start=lambda job, pid: os.kill(pid, signal.SIGKILL))
    assert result.verdict == "error"
    assert result.attempts == 2
    assert "worker process was killed by SIGKILL" in result.reason


def test_cancel_stops_the_worker_at_once(tmp_path):
    image = make_image(tmp_path / "a.qcow2", "qcow2")
    cancel = threading.Event()
    cancel.set()
    started = time.monotonic()
    result = run_isolated(job_for(image, timeout=600), cancel=cancel)
    assert time.monotonic() - started < 2
    assert result.verdict == "error" and "interrupted" in result.reason


def test_progress_counts_done_failed_and_in_flight(tmp_path):
    from imgtools.batch.jobs import ImageResult
    from imgtools.batch.progress import Progress

    progress = Progress(3)
    jobs = [job_for(tmp_path / f"{i}.raw") for i in range(3)]
    for job in jobs[:2]:
        progress.started(job)
    assert progress.line() == "0/3 done, 0 failed, 0 errors, 2 in flight"
    progress.finished(ImageResult.failure(jobs[0], "fail", "unsafe"))
    progress.finished(ImageResult.failure(jobs[1], "error", "gone"))
    assert progress.line() == "2/3 done, 1 failed, 1 errors, 0 in flight"


@pytest.mark.appliance
def test_a_worker_whose_supervisor_dies_takes_its_appliance_along(tmp_path):
    image = make_image(tmp_path / "fresh.qcow2", "qcow2")  # not in the facts cache: the appliance must start
    supervisor = subprocess.Popen([sys.executable, "-c", (
        "from imgtools.batch.jobs import ImageJob; from imgtools.batch.worker import run_isolated; "
        f"run_isolated(ImageJob(path={str(image)!r}, name='fresh'))")])
    deadline = time.monotonic() + 120
    group: list[psutil.Process] = []
    while time.monotonic() < deadline and not any(_name(p).startswith("qemu-system") for p in group):
        workers = psutil.Process(supervisor.pid).children()
        group = _group(workers[0].pid) if workers else []
        time.sleep(0.2)
    assert any(_name(p).startswith("qemu-system") for p in group), "the appliance did not start"
    supervisor.kill()
    supervisor.wait()
    _, alive = psutil.wait_procs(group, timeout=15)
    assert alive == []


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.NoSuchProcess:
        return ""


def _group(pgid: int) -> list[psutil.Process]:
    """The processes of one process group (the worker, and the qemu-img or appliance it started)."""
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid:
                members.append(process)
        except ProcessLookupError:
            pass
    return members
