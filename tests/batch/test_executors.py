"""Executors: how many local workers, parsing --executor, and a real Dask cluster on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import psutil
import pytest

from imgtools.batch import executors, load_manifest, run_batch
from imgtools.batch.executors import DaskExecutor, LocalExecutor, default_workers, make_executor, memory_slots
from imgtools.batch.report import TIMING_KEYS
from imgtools.cli.main import main
from imgtools.errors import EnvironmentProblem, UsageError
from tests.support import make_image


def test_default_workers_fit_cpus_and_memory(monkeypatch):
    cpus = len(os.sched_getaffinity(0))
    assert 1 <= default_workers() <= cpus
    monkeypatch.setattr(executors, "available_memory", lambda: 3 * executors.MEMORY_PER_JOB + 5)
    assert memory_slots() == 3
    assert default_workers() == min(cpus, 3)
    monkeypatch.setattr(executors, "available_memory", lambda: 100)
    assert default_workers() == 1


def test_j_never_oversubscribes_memory(monkeypatch):
    monkeypatch.setattr(executors, "available_memory", lambda: 2 * executors.MEMORY_PER_JOB)
    assert LocalExecutor(8).workers == 2
    assert LocalExecutor(1).workers == 1
    with pytest.raises(UsageError):
        LocalExecutor(0)


def test_executor_specs():
    assert isinstance(make_executor("local", 2), LocalExecutor)
    dask = make_executor("dask://10.0.0.5:8786")
    assert isinstance(dask, DaskExecutor) and dask.address == "tcp://10.0.0.5:8786"
    assert make_executor("tcp://h:1").address == "tcp://h:1"
    for bad in ("slurm://x:1", "dask://nohost", "threads"):
        with pytest.raises(UsageError):
            make_executor(bad)
    with pytest.raises(UsageError, match="-j applies to the local executor"):
        make_executor("dask://h:1", 4)


def test_an_unreachable_scheduler_is_an_environment_error():
    executor = DaskExecutor("tcp://127.0.0.1:9")
    executor.connect_timeout = 2
    with pytest.raises(EnvironmentProblem, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        executor.run([], on_start=lambda job, pid: None, on_result=lambda result: None)


def comparable(summary: dict) -> dict:
    """The summary without what depends on when and where it ran."""
    images = [{k: v for k, v in image.items() if k != "seconds"} for image in summary["images"]]
    return {**{k: v for k, v in summary.items() if k not in TIMING_KEYS}, "images": images}


@pytest.mark.appliance
def test_dask_cluster_gives_the_same_summary_as_local(fleet, tmp_path):
    distributed = pytest.importorskip("distributed")
    manifest = fleet
    assert main(["batch", str(manifest), "-j", "2", "-o", str(tmp_path / "local"), "--json"]) == 1
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        port = cluster.scheduler_address.rsplit(":", 1)[1]
        code = main(["batch", str(manifest), "--executor", f"dask://127.0.0.1:{port}", "-o", str(tmp_path / "dask")])
    assert code == 1
    local = json.loads((tmp_path / "local" / "summary.json").read_text())
    dask = json.loads((tmp_path / "dask" / "summary.json").read_text())
    assert dask["executor"] == f"the Dask cluster at tcp://127.0.0.1:{port}"
    assert comparable(dask) == comparable(local)
    assert dask["total"] == 5 and dask["errors"] >= 1
    # the per-image results say where they ran: Dask workers are other processes than the local ones
    for name in ("good.qcow2", "missing.vmdk"):
        assert json.loads((tmp_path / "dask" / f"{name}.json").read_text())["verdict"] == \
            json.loads((tmp_path / "local" / f"{name}.json").read_text())["verdict"]


def job_process(dask_workers: set[int], waiting) -> psutil.Process | None:
    """The imgtools job process one of the Dask workers started, polled while ``waiting()``."""
    while waiting():
        for pid in dask_workers:
            for child in psutil.Process(pid).children():
                if "imgtools.batch.worker" in " ".join(child.cmdline()):
                    return child
        time.sleep(0.2)
    return None


@pytest.fixture
def fresh_manifest(tmp_path) -> Path:
    """A manifest of one image that is not in the facts cache, so its job runs the appliance."""
    make_image(tmp_path / "fresh.qcow2", "qcow2")
    (tmp_path / "m.yaml").write_text("images: [fresh.qcow2]\n")
    return tmp_path / "m.yaml"


@contextlib.contextmanager
def dask_cluster(workers: int) -> Iterator[tuple[str, set[int]]]:
    """A LocalCluster on loopback with worker processes: its scheduler address and the workers' pids."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield cluster.scheduler_address, set(client.run(os.getpid).values())


@pytest.mark.slow
@pytest.mark.appliance
def test_a_lost_dask_worker_has_its_job_run_again(fresh_manifest, tmp_path):
    with dask_cluster(2) as (address, pids):
        outcome = []
        batch = threading.Thread(target=lambda: outcome.append(run_batch(
            load_manifest(fresh_manifest), tmp_path / "out", make_executor(address))))
        batch.start()
        busy = job_process(pids, batch.is_alive)
        assert busy, "no Dask worker started the job"
        os.kill(busy.ppid(), signal.SIGKILL)  # the Dask worker dies mid-job; its nanny starts another
        batch.join(timeout=600)
    [image] = outcome[0].summary["images"]
    assert image["verdict"] in ("pass", "fail"), image  # Dask ran it again elsewhere: a real verdict


@pytest.mark.slow
@pytest.mark.appliance
def test_ctrl_c_stops_the_job_running_on_a_dask_worker(fresh_manifest, tmp_path):
    with dask_cluster(1) as (address, pids):
        batch = subprocess.Popen(
            [sys.executable, "-m", "imgtools.cli.main", "batch", str(fresh_manifest), "-o", str(tmp_path / "out"),
             "--executor", address.replace("tcp://", "dask://"), "--timeout", "600"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        job = job_process(pids, lambda: batch.poll() is None)
        assert job, "no Dask worker started the job"
        batch.send_signal(signal.SIGINT)
        _out, err = batch.communicate(timeout=60)
        assert batch.returncode == 130, err
        # The job (and its appliance) stop within the event's poll interval, not when inspection ends.
        _gone, alive = psutil.wait_procs([job], timeout=5)
        assert not alive, "the job kept running on the Dask worker after Ctrl-C"
