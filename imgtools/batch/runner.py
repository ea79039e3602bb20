"""Run a manifest's jobs on an executor and write the reports, even when interrupted."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from .executors import Executor
from .jobs import ImageJob, ImageResult
from .manifest import Manifest
from .report import cached_result, write_reports, write_result

#: Reason given to the images a Ctrl-C left unprocessed.
NOT_RUN = "not run: the batch was interrupted; rerun with --resume to finish it"


@dataclass(frozen=True)
class BatchOutcome:
    summary: dict[str, Any]
    results: list[ImageResult]
    interrupted: bool


def run_batch(
    manifest: Manifest,
    outdir: Path,
    executor: Executor,
    *,
    resume: bool = False,
    on_start: Callable[[ImageJob, int], None] | None = None,
    on_result: Callable[[ImageResult], None] | None = None,
) -> BatchOutcome:
    """Process every image of ``manifest`` and write OUTDIR's reports.

    Each per-image result is written as soon as it arrives; on Ctrl-C the jobs
    in flight are stopped and the summary covers what finished (the rest are
    ``error`` rows saying they did not run).
    """
    outdir.mkdir(parents=True, exist_ok=True)
    jobs = [_with_output_folder(job, outdir) for job in manifest.jobs]
    results: dict[str, ImageResult] = {}

    def record(result: ImageResult) -> None:
        results[result.name] = result
        if not result.resumed:
            write_result(outdir, result)
        if on_result:
            on_result(result)

    todo = []
    for job in jobs:
        cached = cached_result(outdir, job) if resume else None
        if cached:
            record(cached)
        else:
            todo.append(job)

    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    clock = time.monotonic()
    interrupted = False
    try:
        if todo:
            executor.run(todo, on_start=on_start or (lambda job, pid: None), on_result=record)
    except KeyboardInterrupt:
        interrupted = True
    ordered = [results.get(job.name) or ImageResult.failure(job, "error", NOT_RUN) for job in jobs]
    summary = write_reports(
        outdir, ordered, fail_on=manifest.fail_on, manifest=str(manifest.path.resolve()), executor=executor.description,
        started_at=started_at, seconds=round(time.monotonic() - clock, 3), interrupted=interrupted,
    )
    return BatchOutcome(summary, ordered, interrupted)


def _with_output_folder(job: ImageJob, outdir: Path) -> ImageJob:
    """Prepared images go to OUTDIR/images unless the manifest names a folder."""
    if job.action != "prepare" or "outdir" in job.options:
        return job
    return job.model_copy(update={"options": {**job.options, "outdir": str(outdir.resolve() / "images")}})
