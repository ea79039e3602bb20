"""prepare: from an external image to an importable image and its registration metadata.

probe → (inspect ‖ convert ‖ hash the source) → check → publish → manifest.

Inspection and conversion only read the source, so they run at the same time;
the conversion goes to a hidden staging file in OUTDIR that becomes the output
only when the blocking checks pass (or ``force``).  Whatever happens, OUTDIR
holds either the finished output and its manifest, or no image at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable, Iterator

from pydantic import BaseModel, ConfigDict

from . import __version__, qemu
from .checks import evaluate
from .convert import convert
from .errors import InspectionError, UsageError
from .facts import Facts
from .fileio import PARTIAL_SUFFIX, write_atomically
from .formats import get_format
from .inspect import gather_facts
from .platforms import PLATFORMS
from .probe import probe
from .profiles import Profile, load_profile
from .report.model import Report

#: ``on_progress(percent, phase)`` as in convert; phases "inspect", "convert", "verify", "hash".
ProgressCallback = Callable[[float, str], None]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileRecord(Model):
    path: str
    format: str
    subformat: str | None = None
    sha256: str
    size: int
    virtual_size: int


class Versions(Model):
    imgtools: str
    qemu_img: str
    libguestfs: str | None = None


class Manifest(Model):
    """``OUTDIR/NAME.manifest.json``; ``prepare --json`` prints it."""

    name: str
    profile: str
    platform: str
    #: True when the output was produced although blocking checks failed (``--force``).
    forced: bool = False
    #: True when an existing, verified output was reused instead of converted again.
    reused_output: bool = False
    source: FileRecord
    #: None when blocking checks failed and nothing was produced.
    output: FileRecord | None = None
    #: The file to upload (the output, or GCE's tar.gz around it).
    upload: str | None = None
    report: Report
    properties: dict[str, Any]
    versions: Versions


def prepare(
    image: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    profile: str | Profile = "huaweicloud",
    out_format: str | None = None,
    name: str | None = None,
    fail_on: str = "error",
    waivers: dict[str, str] | None = None,
    force: bool = False,
    format_hint: str | None = None,
    refresh: bool = False,
    on_progress: ProgressCallback | None = None,
) -> Manifest:
    """Produce the importable image in ``out_dir``; returns the manifest it wrote.

    When blocking checks fail (and not ``force``) no image is produced: the
    manifest has ``output: None`` and the report says why.
    """
    source = Path(image)
    outdir = Path(out_dir)
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    if prof.platform not in PLATFORMS:
        raise UsageError(
            f"profile {prof.name} names no platform to prepare for; add 'platform: <one of "
            f"{', '.join(PLATFORMS)}>' to it or extend one that does"
        )
    platform = PLATFORMS[prof.platform]
    if not (out_format or prof.output.format):
        raise UsageError(f"profile {prof.name} names no output format; pass -O FMT")
    fmt_cls = get_format(out_format or prof.output.format)
    subformat = prof.output.subformat if fmt_cls.name == prof.output.format else None
    name = name or source.name.split(".")[0]
    if "/" in name or name.startswith("."):
        raise UsageError(f"--name {name!r} must be a plain file name without '/' or a leading dot")
    output_path = outdir / f"{name}.{fmt_cls.extension}"
    manifest_path = outdir / f"{name}.manifest.json"

    image_facts = probe(source, format_hint)  # a missing or unreadable source fails before OUTDIR exists
    outdir.mkdir(parents=True, exist_ok=True)
    previous = _previous_manifest(manifest_path)

    # An unsafe image is never opened: its facts are the probe's alone, no launch.
    inspection = _InspectionProcess(source, format_hint=format_hint, refresh=refresh) if image_facts.safe else None
    source_hash = _in_thread(lambda: sha256_file(source))
    staging = outdir / f".{name}.staging{PARTIAL_SUFFIX}"
    reused = False
    written: Future | None = None
    with inspection or contextlib.nullcontext(), _removed_on_failure(staging):
        if image_facts.safe:
            reused = _reusable(previous, output_path, image_facts, fmt_cls.name, subformat)
            if not reused:
                convert(
                    source, staging, fmt_cls.name, subformat=subformat, align=prof.output.align,
                    format_hint=format_hint, overwrite=True, on_progress=on_progress,
                )
            # Hash and measure the output while the inspection still runs.
            done = output_path if reused else staging
            written = _in_thread(lambda: _describe(done, fmt_cls.name))
        facts = inspection.result() if inspection else gather_facts(source, format_hint=format_hint)
        report = evaluate(facts, prof, waivers, fail_on=fail_on)
        produce = image_facts.safe and (report.verdict == "pass" or force)
        output = None
        upload = None
        if produce:
            described = written.result()  # before the rename: it reads the staging file
            if not reused:
                os.replace(staging, output_path)
            output = FileRecord(path=str(output_path.resolve()), format=fmt_cls.name, subformat=subformat,
                                **described)
            upload = str(platform.package(output_path, outdir, name).resolve())
        else:
            staging.unlink(missing_ok=True)
        manifest = Manifest(
            name=name,
            profile=prof.name,
            platform=platform.name,
            forced=produce and report.verdict != "pass",
            reused_output=reused and produce,
            source=FileRecord(
                path=str(source.resolve()), format=image_facts.format, subformat=image_facts.subformat,
                sha256=source_hash.result(), size=image_facts.file_size, virtual_size=image_facts.virtual_size,
            ),
            output=output,
            upload=upload,
            report=report,
            properties=platform.properties(facts, output_path.name) if facts.guest else {},
            versions=Versions(
                imgtools=__version__,
                qemu_img=qemu.version(),
                libguestfs=facts.facts.inspection.libguestfs_version,
            ),
        )
        write_atomically(manifest_path, manifest.model_dump_json(indent=2))
    return manifest


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(4 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _describe(path: Path, fmt: str) -> dict[str, Any]:
    """sha256, size and virtual size of a written output, for its FileRecord."""
    info = qemu.run(qemu.info_argv(str(path), fmt)).json()
    return {"sha256": sha256_file(path), "size": path.stat().st_size, "virtual_size": info["virtual-size"]}


def _previous_manifest(path: Path) -> Manifest | None:
    try:
        return Manifest.model_validate_json(path.read_text())
    except (OSError, ValueError):
        return None


def _reusable(previous: Manifest | None, output_path: Path, image, fmt: str, subformat: str | None) -> bool:
    """An output from an earlier run is reused when it still reads the same as the source."""
    if previous is None or previous.output is None or not output_path.exists():
        return False
    same_request = (previous.output.format, previous.output.subformat) == (fmt, subformat)
    same_source = previous.source.path == str(Path(image.path).resolve()) and (
        previous.source.size, previous.source.virtual_size
    ) == (image.file_size, image.virtual_size)
    if not (same_request and same_source and output_path.stat().st_size == previous.output.size):
        return False
    result = qemu.run(
        qemu.compare_argv(image.path, image.format, str(output_path), fmt),
        timeout=None, limits=qemu.STREAM_LIMITS, ok_codes=(0, 1, 2),
    )
    return result.returncode == 0


class _InspectionProcess:
    """``imgtools inspect --json`` in a child process, beside the conversion.

    A process rather than a thread: when the conversion fails or the user
    presses Ctrl-C, the inspection (and with it the appliance, which
    libguestfs' recovery process kills when its parent dies) stops at once
    instead of racing interpreter shutdown inside libguestfs.  Facts land in
    the shared cache, so a rerun of the same image costs no launch.
    """

    def __init__(self, image: Path, *, format_hint: str | None, refresh: bool):
        argv = [sys.executable, "-m", "imgtools.cli.main", "inspect", "--json", str(image)]
        if format_hint:
            argv += ["--format-hint", format_hint]
        if refresh:
            argv.append("--no-cache")
        self._proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True,
        )
        self._output = _in_thread(self._proc.communicate)

    def result(self) -> Facts:
        stdout, stderr = self._output.result()
        if self._proc.returncode != 0:
            last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {self._proc.returncode}"
            raise InspectionError(last.removeprefix("imgtools inspect: "))
        return Facts.from_json(stdout)

    def __enter__(self) -> "_InspectionProcess":
        return self

    def __exit__(self, *exc_info) -> None:
        if self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait()


def _in_thread(work: Callable[[], Any]) -> Future:
    """Run read-only work beside the conversion; its exception is re-raised by ``result()``."""
    future: Future = Future()

    def target() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to the caller, who decides
            future.set_exception(exc)

    threading.Thread(target=target, daemon=True).start()
    return future


@contextlib.contextmanager
def _removed_on_failure(path: Path) -> Iterator[None]:
    try:
        yield
    except BaseException:
        path.unlink(missing_ok=True)
        raise
