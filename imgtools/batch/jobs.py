"""One image's job: what to do with it (:class:`ImageJob`) and what came of it (:class:`ImageResult`).

:func:`run_image` runs in a worker process (local or on a Dask worker) and never
raises: a missing, unreadable, unsafe or corrupt image, an appliance that fails
and a bug in imgtools all become a result with verdict ``error`` or ``fail`` and
a one-line reason, so one bad image never stops or poisons the batch.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

from .. import __version__
from ..errors import ImageAccessError, ImgtoolsError, UnsafeImageError
from ..report.model import FAILING, SEVERITY_RANK, Severity

Verdict = Literal["pass", "fail", "error"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileIdentity(Model):
    """What makes a cached result still valid for a file: the same file, unchanged."""

    realpath: str
    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: str) -> "FileIdentity":
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise ImageAccessError(f"{path}: no such file") from None
        except OSError as exc:
            raise ImageAccessError(f"{path}: cannot be read ({exc.strerror})") from None
        return cls(realpath=os.path.realpath(path), size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino)


class ImageJob(Model):
    """Everything a worker needs to process one image; JSON-serialisable and picklable."""

    path: str
    #: Unique within the batch; names the per-image report ``<name>.json``.
    name: str
    profile: str = "huaweicloud"
    action: Literal["check", "prepare"] = "check"
    #: The action's options (prepare: output format, name, …).
    options: dict[str, Any] = Field(default_factory=dict)
    #: Check id (or slug) -> why it is waived.
    waivers: dict[str, str] = Field(default_factory=dict)
    fail_on: Severity = "error"
    timeout: float = 1800.0
    #: Gather facts again instead of re-using the facts cache.
    refresh: bool = False
    #: How often a job whose worker process died is run again.
    retries: int = 1
    #: A digest of the profile file's content when ``profile`` is a file, so an edit invalidates results.
    profile_digest: str | None = None
    #: Manifest line that listed the image, named when the file is missing.
    line: int | None = None

    def key(self) -> str:
        """Digest of what decides the outcome besides the file itself (used by ``--resume``)."""
        decisive = self.model_dump(include={"profile", "profile_digest", "action", "options", "waivers", "fail_on"})
        return hashlib.sha256(json.dumps(decisive, sort_keys=True).encode()).hexdigest()[:16]


class ImageResult(Model):
    path: str
    name: str
    profile: str
    action: str
    verdict: Verdict
    #: Why the image failed or errored as a whole (unsafe, missing, timed out, …); None when the checks decided.
    reason: str | None = None
    #: The check report (``imgtools check --format json``), when the checks ran.
    report: dict[str, Any] | None = None
    #: What the action produced besides the report (prepare: its manifest).
    output: dict[str, Any] | None = None
    identity: FileIdentity | None = None
    key: str
    attempts: int = 1
    #: Timings and placement: they differ between runs and executors, nothing else does.
    seconds: float = 0.0
    worker: str = ""
    resumed: bool = False
    imgtools_version: str = __version__

    @classmethod
    def failure(cls, job: ImageJob, verdict: Verdict, reason: str, **extra: Any) -> "ImageResult":
        return cls(path=job.path, name=job.name, profile=job.profile, action=job.action, verdict=verdict,
                   reason=reason, key=job.key(), **extra)

    @property
    def findings(self) -> list[dict[str, Any]]:
        return list((self.report or {}).get("findings") or [])

    def failed_findings(self) -> list[dict[str, Any]]:
        """Failures worth acting on, the most severe first: warnings and errors, and infos at ``--fail-on info``.

        Info-level "failures" are notes (e.g. which IMS operations an image
        qualifies for); listing them as failures would bury the real ones.
        """
        fail_on = (self.report or {}).get("fail_on", "error")
        threshold = min(SEVERITY_RANK[fail_on], SEVERITY_RANK["warning"])
        failed = [f for f in self.findings
                  if f.get("status") in FAILING and SEVERITY_RANK.get(f.get("severity"), 0) >= threshold]
        return sorted(failed, key=lambda f: -SEVERITY_RANK[f["severity"]])


# -- actions: what a job does once the file is known to exist --
# (imported when a job runs: the parent process and the Dask client never need the appliance code)

def _check(job: ImageJob) -> tuple[dict[str, Any], dict[str, Any] | None]:
    from ..checks import evaluate
    from ..inspect import gather_facts
    from ..profiles import load_profile

    facts = gather_facts(job.path, refresh=job.refresh)
    report = evaluate(facts, load_profile(job.profile), job.waivers, fail_on=job.fail_on)
    return report.model_dump(mode="json"), None


def _prepare(job: ImageJob) -> tuple[dict[str, Any], dict[str, Any] | None]:
    from ..prepare import prepare

    options = job.options
    manifest = prepare(
        job.path, options["outdir"], profile=job.profile, out_format=options.get("format"), name=options.get("name"),
        fail_on=job.fail_on, waivers=job.waivers, force=options.get("force", False), refresh=job.refresh,
    )
    data = manifest.model_dump(mode="json")
    return data["report"], data


#: The explicit registry of actions a manifest may ask for.
ACTIONS: dict[str, Callable[[ImageJob], tuple[dict[str, Any], dict[str, Any] | None]]] = {
    "check": _check,
    "prepare": _prepare,
}


def run_image(job: ImageJob) -> ImageResult:
    """Probe, inspect and check (or prepare) one image; never raises."""
    started = time.monotonic()
    placement = {"worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        identity = FileIdentity.of(job.path)
    except ImgtoolsError as exc:
        where = f"line {job.line} of the manifest" if job.line else "the manifest"
        return ImageResult.failure(job, "error", f"{exc}; check the path on {where}",
                                   seconds=time.monotonic() - started, **placement)
    try:
        report, output = ACTIONS[job.action](job)
    except UnsafeImageError as exc:
        outcome: dict[str, Any] = {"verdict": "fail", "reason": f"unsafe image: {exc}"}
    except ImgtoolsError as exc:
        outcome = {"verdict": "error", "reason": str(exc)}
    except Exception as exc:  # a bug must cost one row, not the batch
        outcome = {"verdict": "error", "reason": f"internal error: {type(exc).__name__}: {exc}"}
    else:
        outcome = {"verdict": report["verdict"], "report": report, "output": output}
    return ImageResult(path=job.path, name=job.name, profile=job.profile, action=job.action, identity=identity,
                       key=job.key(), seconds=time.monotonic() - started, **placement, **outcome)
