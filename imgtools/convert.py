"""Verified, atomic conversion between disk image formats.

The source is probed first and refused unless safe, so qemu-img only ever sees
an image with the format the probe found.  The output is written to a hidden
file beside the destination and renamed into place only after qemu-img
succeeded, the probe read the output's header back as the format, subformat
and virtual size asked for, and ``qemu-img compare`` found the guest-visible
content identical (unless ``verify=False``); on any failure, Ctrl-C or SIGTERM
the partial file is removed and nothing appears at the destination.

imgtools' fixed cost shows on every conversion, so the work besides qemu-img's
own is kept small: headers are read in-process by the probe, and qemu-img runs
only to measure, convert and compare.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from . import probe as probing
from . import qemu, units
from .errors import Interrupted, NoSpaceError, UsageError, VerificationError
from .fileio import PARTIAL_SUFFIX
from .formats import ImageFormat, compressible_formats, get_format, qemu_driver, writable_formats
from .imagefacts import ImageFacts

#: ``on_progress(percent, phase)``: percent in 0–100, phase "convert" or "verify".
ProgressCallback = Callable[[float, str], None]


@dataclass(kw_only=True)
class ConvertResult:
    """What one conversion produced; ``imgtools convert --json`` prints it (a dataclass: see imagefacts)."""

    source: ImageFacts
    path: str
    format: str
    subformat: str | None = None
    compressed: bool = False
    virtual_size: int
    file_size: int
    #: The space checked for before writing (qemu-img measure, or an estimate).
    required_space: int
    verified: bool
    seconds: float


def parse_size(text: str) -> int:
    """A size as ``--align`` takes it (see :mod:`imgtools.units`); a usage error otherwise."""
    try:
        return units.parse_size(text)
    except ValueError:
        raise UsageError(f"cannot read size {text!r}; write it like 1MiB, 512K, 1G or a number of bytes") from None


def aligned_size(size: int, align: int | str | None) -> int:
    """``size`` rounded up to a multiple of ``align`` (a sector multiple); unchanged when None."""
    if align is None:
        return size
    unit = parse_size(align) if isinstance(align, str) else align
    if unit <= 0 or unit % 512:
        raise UsageError(f"--align must be a positive multiple of 512 bytes, not {align!r}")
    return -(-size // unit) * unit


def required_space(
    image: ImageFacts, target: type[ImageFormat], options: dict[str, str], subformat: str | None, size: int
) -> int:
    """Bytes the output needs at ``size`` virtual bytes, from ``qemu-img measure``.

    qemu-img measures raw and qcow2 only; the other formats are estimated from a
    qcow2 measurement (data plus small metadata), fully allocated for the
    subformats that preallocate.
    """
    measured_as = target if target.measurable else get_format("qcow2")
    measured_options = options if target.measurable else measured_as.create_options()
    measured = qemu.run(qemu.measure_argv(image.path, image.format, measured_as.name, measured_options)).json()
    if subformat in target.preallocated_subformats:
        return measured["fully-allocated"] + size - image.virtual_size
    return measured["required"]


def check_free_space(folder: Path, required: int) -> None:
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    if free < required:
        raise NoSpaceError(
            f"{folder} has {free:,} bytes free but the output needs up to {required:,} "
            "(qemu-img measure); free some space or write elsewhere"
        )


def convert(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    out_format: str,
    *,
    subformat: str | None = None,
    compress: bool = False,
    align: int | str | None = None,
    verify: bool = True,
    format_hint: str | None = None,
    overwrite: bool = False,
    on_progress: ProgressCallback | None = None,
) -> ConvertResult:
    """Convert SRC to DST in ``out_format``; DST appears complete and verified, or not at all."""
    started = time.monotonic()
    target = get_format(out_format)
    if not target.writable:
        raise UsageError(f"imgtools cannot write {target.name}; choose one of: {', '.join(writable_formats())}")
    if compress and not target.compressible:
        raise UsageError(
            f"{target.name} cannot be compressed by qemu-img (only {', '.join(compressible_formats())}); drop --compress"
        )
    options = target.create_options(subformat)
    subformat = subformat or next(iter(target.subformats), None)
    src_path, dst_path = Path(src), Path(dst).absolute()
    _check_destination(src_path, dst_path, overwrite)

    image = probing.probe(str(src_path), format_hint)
    probing.require_safe(image)
    size = aligned_size(image.virtual_size, align)
    if size != image.virtual_size and subformat in target.streamed_subformats:
        raise UsageError(
            f"{target.name} {subformat} is written in one pass and cannot be padded to --align {align}; "
            "choose another subformat or convert without --align"
        )
    required = required_space(image, target, options, subformat, size)
    check_free_space(dst_path.parent, required)

    with _stop_on_sigterm(), _partial_output(dst_path) as partial:
        _write(image, partial, target, options, size, compress, on_progress)
        written = _check_header(partial, target, subformat, size)
        if verify:
            _verify(image, partial, target, on_progress)
        _publish(partial, dst_path, overwrite)
    return ConvertResult(
        source=image,
        path=str(dst_path),
        format=target.name,
        subformat=subformat,
        compressed=compress,
        virtual_size=written.virtual_size,
        file_size=dst_path.stat().st_size,
        required_space=required,
        verified=verify,
        seconds=round(time.monotonic() - started, 3),
    )


def _check_destination(src: Path, dst: Path, overwrite: bool) -> None:
    if not dst.parent.is_dir():
        raise UsageError(f"the folder {dst.parent} does not exist; create it first")
    if dst.is_dir():
        raise UsageError(f"{dst} is a folder; give the output file's name")
    if not os.path.lexists(dst):
        return
    if dst.exists() and src.exists() and os.path.samefile(src, dst):
        raise UsageError(f"{dst} is the source itself; write the output to another file")
    if not overwrite:
        raise UsageError(f"{dst} already exists; remove it or pass --overwrite")


def _write(
    image: ImageFacts,
    partial: Path,
    target: type[ImageFormat],
    options: dict[str, str],
    size: int,
    compress: bool,
    on_progress: ProgressCallback | None,
) -> None:
    """qemu-img convert into ``partial``; an aligned size is created first, then filled (``-n``)."""
    padded = size != image.virtual_size
    if padded:
        qemu.run(qemu.create_argv(str(partial), target.name, size, options))
    qemu.run(
        qemu.convert_argv(
            image.path, image.format, str(partial), target.name,
            options=options, compress=compress, progress=on_progress is not None, target_exists=padded,
        ),
        timeout=None,
        limits=qemu.STREAM_LIMITS,
        on_progress=_phase(on_progress, "convert"),
    )


def _check_header(partial: Path, target: type[ImageFormat], subformat: str | None, size: int) -> ImageFacts:
    """The output's header, read back by the probe: the format, subformat and virtual size asked for.

    In-process and bounded, so it costs a millisecond where ``qemu-img info``
    costs a process.  A raw output whose guest data starts like another format
    is refused as well: a cloud would read it as that format.
    """
    written = probing.probe(str(partial))
    wanted = (target.name, subformat if target.subformats else None, size)
    found = (qemu_driver(written.format), written.subformat if target.subformats else None, written.virtual_size)
    if found == wanted:
        return written
    if found[0] != wanted[0]:
        raise VerificationError(
            f"the {target.name} output reads back as a {written.format} image and a cloud would take it for one "
            f"(a raw output does when the guest's data starts like that format); it was discarded: write qcow2 instead"
        )
    raise VerificationError(
        f"the {target.name} output's header reads as {_describe(*found)}, not {_describe(*wanted)} as written; "
        "it was discarded: report this with the qemu-img version"
    )


def _describe(fmt: str, subformat: str | None, size: int) -> str:
    return f"{' '.join(filter(None, [fmt, subformat]))} of {size:,} bytes"


def _verify(image: ImageFacts, partial: Path, target: type[ImageFormat], on_progress: ProgressCallback | None) -> None:
    """``qemu-img compare``: 0 identical, 1 different; a longer output must read as zeroes past the source."""
    result = qemu.run(
        qemu.compare_argv(image.path, image.format, str(partial), target.name, progress=on_progress is not None),
        timeout=None,
        limits=qemu.STREAM_LIMITS,
        ok_codes=(0, 1),
        on_progress=_phase(on_progress, "verify"),
    )
    if result.returncode == 1:
        first = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "content differs"
        raise VerificationError(
            f"the {target.name} output does not read the same as {image.path} ({first}); "
            "it was discarded: report this with the qemu-img version"
        )


def _phase(on_progress: ProgressCallback | None, phase: str) -> Callable[[float], None] | None:
    return None if on_progress is None else (lambda percent: on_progress(percent, phase))


@contextlib.contextmanager
def _partial_output(dst: Path) -> Iterator[Path]:
    """A hidden name beside ``dst`` (same folder, so the rename is atomic), removed on any failure."""
    partial = dst.with_name(f".{dst.name}.{os.urandom(4).hex()}{PARTIAL_SUFFIX}")
    try:
        yield partial
    except BaseException:
        with _signals_blocked():
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
        raise


def _publish(partial: Path, dst: Path, overwrite: bool) -> None:
    """Move the verified output into place; without ``overwrite`` never replace a file that appeared meanwhile.

    The data is synced before the rename and the folder after it, so a crash
    leaves either the old state or the complete output.
    """
    _fsync(partial)
    if overwrite:
        os.replace(partial, dst)
    else:
        try:
            os.link(partial, dst)  # fails if dst exists, unlike rename
        except FileExistsError:
            raise UsageError(f"{dst} appeared while converting; remove it or pass --overwrite") from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            os.replace(partial, dst)  # a file system without hard links
        else:
            partial.unlink()
    _fsync(dst.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into an exception while converting, so the cleanup runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise Interrupted("stopped by SIGTERM; the partial output was removed")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while cleaning up, so the cleanup itself is not cut short."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
