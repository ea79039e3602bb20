"""Where the per-image jobs run: this machine (``local``) or a Dask cluster (``dask://HOST:PORT``).

Both hand each job to :func:`~imgtools.batch.worker.run_isolated`, which runs it
in a fresh process with its deadline, so results, retries and timeouts are the
same whichever executor ran them.

A Dask cluster for imgtools: every machine has imgtools (``pip install
'imgtools[batch]'``), qemu-img and libguestfs, and sees the images at the same
paths (shared storage).  Start ``dask scheduler --host 0.0.0.0 --port 8786``
on one machine and ``dask worker tcp://SCHEDULER:8786 --nthreads 1 --nworkers N``
on each worker machine (N: its cores, at most its memory in GiB, as each job
runs a 1 GiB appliance), then run ``imgtools batch --executor dask://SCHEDULER:8786``.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable, ClassVar
from urllib.parse import urlsplit

from ..errors import EnvironmentProblem, ToolMissingError, UsageError
from .jobs import ImageJob, ImageResult
from .worker import OnStart, run_isolated

OnResult = Callable[[ImageResult], None]

#: What one libguestfs appliance and its worker need.
MEMORY_PER_JOB = 1 << 30


def available_memory() -> int:
    """MemAvailable from /proc/meminfo (bytes); total physical memory elsewhere."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def memory_slots() -> int:
    """How many appliances fit in the memory available now (at least one)."""
    return max(1, available_memory() // MEMORY_PER_JOB)


def default_workers() -> int:
    """As many parallel jobs as there are CPUs, but never more appliances than the memory holds."""
    return max(1, min(len(os.sched_getaffinity(0)), memory_slots()))


class Executor(ABC):
    """Runs jobs, reporting each start and each result as it happens.

    :meth:`run` returns when every job has a result; on Ctrl-C it stops the
    running jobs and re-raises :class:`KeyboardInterrupt` once they are gone.
    """

    scheme: ClassVar[str]

    @property
    @abstractmethod
    def description(self) -> str:
        """One line for humans: where the jobs run and how many at once."""

    @classmethod
    @abstractmethod
    def from_spec(cls, spec: str, workers: int | None) -> "Executor":
        """Build it from ``--executor SPEC`` and ``-j``."""

    @abstractmethod
    def run(self, jobs: list[ImageJob], *, on_start: OnStart, on_result: OnResult) -> None: ...


class LocalExecutor(Executor):
    """At most ``workers`` worker processes on this machine, one per job."""

    scheme = "local"

    def __init__(self, workers: int | None = None):
        if workers is not None and workers < 1:
            raise UsageError(f"-j must be at least 1, not {workers}")
        # Never more appliances than the memory holds, whatever -j asks.
        self.workers = min(workers or default_workers(), memory_slots())

    @classmethod
    def from_spec(cls, spec: str, workers: int | None) -> "LocalExecutor":
        return cls(workers)

    @property
    def description(self) -> str:
        return f"{self.workers} local worker process{'es' if self.workers > 1 else ''}"

    def run(self, jobs: list[ImageJob], *, on_start: OnStart, on_result: OnResult) -> None:
        cancel = threading.Event()
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="imgtools-batch")
        try:
            futures = [pool.submit(run_isolated, job, cancel=cancel, on_start=on_start) for job in jobs]
            for future in as_completed(futures):
                on_result(future.result())
        except BaseException:
            cancel.set()  # running workers are killed within a poll interval
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(Executor):
    """The jobs go to a Dask distributed scheduler; its workers run them.

    A worker that is lost mid-job has its job rescheduled by Dask (up to the
    scheduler's ``allowed-failures``); after that the image gets an error row.
    On Ctrl-C the queued jobs are cancelled and a running one sees the batch's
    cancel event within a second (Dask cannot stop a running task, but the task
    can stop its own worker process and appliance).
    """

    scheme = "dask"
    connect_timeout = 15

    def __init__(self, address: str, workers: int | None = None):
        self.address = address
        if workers is not None:
            raise UsageError("-j applies to the local executor; a Dask cluster runs as many jobs as it has worker threads")

    @classmethod
    def from_spec(cls, spec: str, workers: int | None) -> "DaskExecutor":
        parts = urlsplit(spec)
        if not (parts.hostname and parts.port):
            raise UsageError(f"--executor {spec}: name the scheduler as dask://HOST:PORT")
        return cls(f"tcp://{parts.hostname}:{parts.port}", workers)

    @property
    def description(self) -> str:
        return f"the Dask cluster at {self.address}"

    def run(self, jobs: list[ImageJob], *, on_start: OnStart, on_result: OnResult) -> None:
        try:
            from distributed import Client, as_completed as dask_completed
        except ImportError:
            raise ToolMissingError("the dask executor needs dask.distributed: pip install 'imgtools[batch]'") from None
        try:
            client = Client(self.address, timeout=self.connect_timeout)
        except Exception as exc:
            raise EnvironmentProblem(
                f"cannot reach the Dask scheduler at {self.address} ({exc}); start one with 'dask scheduler' "
                "and workers with 'dask worker tcp://HOST:PORT' (see 'imgtools batch --help')"
            ) from None
        batch = uuid.uuid4().hex[:8]
        cancel = ClusterCancel(f"imgtools-{batch}-cancel")
        futures: dict = {}
        try:
            capacity = max(1, sum(client.nthreads().values()))
            futures = {
                client.submit(run_isolated, job, cancel=cancel, key=f"imgtools-{batch}-{i}-{job.name}",
                              pure=False): job
                for i, job in enumerate(jobs)
            }
            # Dask does not say when a task starts; count the first `capacity` as in flight, then one per result.
            waiting = list(jobs)
            for job in waiting[:capacity]:
                on_start(job, 0)
            del waiting[:capacity]
            for future in dask_completed(futures):
                job = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # KilledWorker, a worker without imgtools, a cancelled task
                    result = ImageResult.failure(job, "error", f"lost on the Dask cluster: {type(exc).__name__}: {exc}")
                on_result(result)
                if waiting:
                    on_start(waiting.pop(0), 0)
        except BaseException:
            cancel.set(client)
            client.cancel(list(futures))
            raise
        finally:
            client.close()


class ClusterCancel:
    """A batch's cancel flag as a Dask task sees it: a named ``distributed.Event``.

    :func:`run_isolated` asks ``is_set()`` ten times a second; the scheduler is
    asked at most once a second.  Pickled into every task, so it holds only the name.
    """

    poll_seconds = 1.0

    def __init__(self, name: str):
        self.name = name
        self._asked = float("-inf")
        self._set = False

    def is_set(self) -> bool:
        if not self._set and time.monotonic() - self._asked >= self.poll_seconds:
            from distributed import Event

            self._asked = time.monotonic()
            self._set = Event(self.name).is_set()
        return self._set

    def set(self, client) -> None:
        from distributed import Event

        Event(self.name, client=client).set()


#: The explicit registry, keyed by the scheme of ``--executor``.
EXECUTORS: dict[str, type[Executor]] = {cls.scheme: cls for cls in (LocalExecutor, DaskExecutor)}


#: Other spellings of a scheme: ``tcp://`` is how Dask itself names a scheduler.
SCHEME_ALIASES = {"tcp": "dask"}


def make_executor(spec: str, workers: int | None = None) -> Executor:
    """``local`` or ``dask://HOST:PORT``."""
    scheme = urlsplit(spec).scheme or spec
    cls = EXECUTORS.get(SCHEME_ALIASES.get(scheme, scheme))
    if cls is None:
        raise UsageError(f"unknown executor {spec!r}; use 'local' or 'dask://HOST:PORT'")
    return cls.from_spec(spec, workers)
