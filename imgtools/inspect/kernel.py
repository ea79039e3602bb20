"""A fast-booting appliance kernel: the host's own kernel, uncompressed, booted through its PVH entry.

Under TCG every appliance launch pays for SeaBIOS and for decompressing the
appliance kernel (Debian's bzImage is xz-compressed) before Linux prints a
line: about 3.5 s.  QEMU boots an uncompressed ELF ``vmlinux`` directly when it
carries the Xen PVH entry note, which skips both.  So we pick the kernel
supermin would pick, decompress its payload once into our cache, and point
supermin at it (``SUPERMIN_KERNEL``…) with an appliance folder of our own, so
the appliance built with it never clashes with the default one.

Anything unusual (a user's own appliance settings, another architecture, no
kernel, no PVH note, ``IMGTOOLS_FAST_KERNEL=0``) means the default appliance:
a slower launch beats no launch, so nothing here raises.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import re
import struct
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from ..cache import cache_dir
from ..fileio import write_atomically
from .codecs import CODECS, Codec, Source, decode_errors

#: ``IMGTOOLS_FAST_KERNEL=0`` keeps libguestfs' default appliance (the escape hatch).
SWITCH_ENV = "IMGTOOLS_FAST_KERNEL"
#: Where the appliance built with our kernel lives; default ``cache_dir("appliance")``.
APPLIANCE_CACHE_ENV = "IMGTOOLS_APPLIANCE_CACHE"
KERNEL_ENV = "SUPERMIN_KERNEL"
VERSION_ENV = "SUPERMIN_KERNEL_VERSION"
MODULES_ENV = "SUPERMIN_MODULES"
CACHEDIR_ENV = "LIBGUESTFS_CACHEDIR"
#: Set by a user who chose the appliance (or its kernel) themselves: we then leave it alone.
USER_CHOICE_ENVS = ("LIBGUESTFS_PATH", KERNEL_ENV, VERSION_ENV, MODULES_ENV, CACHEDIR_ENV)

BOOT_DIR = "/boot"
MODULES_DIR = "/lib/modules"

#: A kernel image is tens of MiB; anything far larger is not one (or a decompression bomb).
MAX_VMLINUX = 512 << 20

ELF_MAGIC = b"\x7fELF"
ET_EXEC = 2
EM_X86_64 = 62
PT_LOAD = 1
PT_NOTE = 4
#: XEN_ELFNOTE_PHYS32_ENTRY: the 32-bit PVH entry point QEMU's -kernel jumps to.
XEN_ELFNOTE_PHYS32_ENTRY = 18


@dataclass(frozen=True)
class HostKernel:
    """A host kernel supermin can use: the image and its modules."""

    path: str
    version: str
    modules: str


def _natural_key(version: str) -> tuple:
    """'6.1.0-10' < '6.1.0-9' as text, but not here: digit runs compare as numbers."""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", version)))


def host_kernels(boot_dir: str | None = None, modules_dir: str | None = None) -> list[HostKernel]:
    """The kernels supermin can use: every ``vmlinuz-VER`` in ``boot_dir`` that has ``modules_dir/VER``."""
    boot_dir, modules_dir = boot_dir or BOOT_DIR, modules_dir or MODULES_DIR
    try:
        names = os.listdir(boot_dir)
    except OSError:
        return []
    return [
        HostKernel(os.path.join(boot_dir, name), version, os.path.join(modules_dir, version))
        for name in names
        if name.startswith("vmlinuz-")
        for version in [name[len("vmlinuz-"):]]
        if os.path.isdir(os.path.join(modules_dir, version))
    ]


def host_kernel(boot_dir: str | None = None, modules_dir: str | None = None) -> HostKernel | None:
    """The kernel supermin picks: the newest of :func:`host_kernels`.

    ``uname -r`` is no guide: in a container it names the host's kernel, not one installed here.
    """
    return max(host_kernels(boot_dir, modules_dir), key=lambda kernel: _natural_key(kernel.version), default=None)


# -- the compressed payload: found by magic, decompressed as a stream --

def _candidates(image: bytes) -> list[tuple[int, Codec]]:
    """Every offset where some codec's magic occurs, in file order."""
    found = []
    for codec in CODECS:
        offset = image.find(codec.magic)
        while offset >= 0:
            found.append((offset, codec))
            offset = image.find(codec.magic, offset + 1)
    return sorted(found, key=lambda candidate: candidate[0])


def _decompress_elf(codec: Codec, image: bytes, offset: int) -> bytes | None:
    """The stream at ``offset`` if it decodes, whole, into something that starts like an ELF file."""
    stream = io.BytesIO(image)  # shares the bytes: no copy per candidate
    stream.seek(offset)
    out = bytearray()
    try:
        for chunk in codec.decode(Source(stream)):
            out += chunk
            if out[:len(ELF_MAGIC)] != ELF_MAGIC[:len(out)] or len(out) > MAX_VMLINUX:
                return None
    except decode_errors():
        return None
    return bytes(out)


def extract_vmlinux(image: bytes) -> bytes | None:
    """The uncompressed ELF kernel inside a bzImage, or None.

    Each magic is tried in file order until one decodes into a complete ELF:
    the bytes of a magic also occur by chance (in the set-up code, in another
    stream).  The first complete ELF is the kernel: it is returned only if it
    can be booted through PVH.
    """
    for offset, codec in _candidates(image):
        elf = _decompress_elf(codec, image, offset)
        if elf is not None and _elf_complete(elf):
            return elf if is_pvh_vmlinux(elf) else None
    return None


# -- the ELF checks --

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")


def _program_headers(elf: bytes) -> list[tuple[int, int, int, int]] | None:
    """(type, offset, filesz, align) of each program header of an ELF64 x86-64 executable, else None."""
    if len(elf) < _EHDR.size:
        return None
    ident, e_type, machine, _, _, phoff, _, _, _, phentsize, phnum, _, _, _ = _EHDR.unpack_from(elf)
    if not (ident.startswith(ELF_MAGIC) and ident[4] == 2 and ident[5] == 1
            and e_type == ET_EXEC and machine == EM_X86_64 and phentsize == _PHDR.size):
        return None
    if phoff + phnum * phentsize > len(elf):
        return None
    headers = []
    for i in range(phnum):
        p_type, _, offset, _, _, filesz, _, align = _PHDR.unpack_from(elf, phoff + i * phentsize)
        headers.append((p_type, offset, filesz, align))
    return headers


def _elf_complete(elf: bytes) -> bool:
    """An ELF64 x86-64 executable whose loadable segments all lie inside the data (not truncated)."""
    headers = _program_headers(elf)
    return headers is not None and all(
        offset + filesz <= len(elf) for p_type, offset, filesz, _ in headers if p_type in (PT_LOAD, PT_NOTE)
    )


def _notes(elf: bytes, offset: int, size: int, align: int) -> Iterator[tuple[bytes, int]]:
    """(name, type) of each note in a PT_NOTE segment."""
    step = 8 if align == 8 else 4  # the kernel's notes are 4-aligned; only 8-aligned segments differ
    pos, end = offset, offset + size
    while pos + 12 <= end:
        namesz, descsz, n_type = struct.unpack_from("<III", elf, pos)
        yield elf[pos + 12:pos + 12 + namesz].rstrip(b"\0"), n_type
        pos += 12 + -(-namesz // step) * step + -(-descsz // step) * step


def is_pvh_vmlinux(elf: bytes) -> bool:
    """An ELF64 x86-64 executable with the Xen PVH entry note, which QEMU's -kernel boots directly."""
    headers = _program_headers(elf)
    return headers is not None and any(
        (b"Xen", XEN_ELFNOTE_PHYS32_ENTRY) in set(_notes(elf, offset, filesz, align))
        for p_type, offset, filesz, align in headers
        if p_type == PT_NOTE and offset + filesz <= len(elf)
    )


# -- the cache --

#: Marks a kernel without the PVH note: ``vmlinux-VER-KEY.no-pvh``, empty.
NO_PVH_SUFFIX = ".no-pvh"
#: Every complete cache entry (a file being written starts with '.' and ends in PARTIAL_SUFFIX).
_CACHE_ENTRY = re.compile(r"vmlinux-.+-[0-9a-f]{16}(%s)?" % re.escape(NO_PVH_SUFFIX))


def _cache_name(kernel: HostKernel) -> str:
    """``vmlinux-VER-KEY``, keyed by the kernel file's path, size and mtime: a kernel update is a new entry."""
    st = os.stat(kernel.path)
    key = hashlib.sha256(f"{kernel.path}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
    return f"vmlinux-{kernel.version}-{key}"


def cached_vmlinux(kernel: HostKernel) -> Path | None:
    """The PVH-bootable ELF of ``kernel``, extracted once and kept in the cache, else None.

    A kernel without the PVH note leaves a marker so it is not decompressed at
    every launch.  Each extraction prunes the entries no installed kernel needs.
    """
    folder = cache_dir("kernel")
    target = folder / _cache_name(kernel)
    refused = target.with_name(target.name + NO_PVH_SUFFIX)
    if target.exists():
        return target
    if refused.exists():
        return None
    elf = extract_vmlinux(Path(kernel.path).read_bytes())
    written = target if elf else refused
    write_atomically(written, elf or b"")  # a batch launches several at once
    _prune(folder, written, kernel)
    return target if elf else None


def _prune(folder: Path, written: Path, kernel: HostKernel) -> None:
    """Remove the entries of kernels no longer installed: a vmlinux is ~66 MB, and every kernel update
    left one behind.

    The entries of every installed kernel stay, not only the newest's: a
    process that picked its kernel before an update may be about to boot it.
    Only complete entries older than ``written`` go: a file still being
    written does not match the naming scheme, and a newer entry was made by
    another process for a kernel this one does not see yet.  Pruning is
    housekeeping: whatever fails is left for the next extraction.
    """
    try:
        needed = {_cache_name(other) for other in
                  host_kernels(os.path.dirname(kernel.path), os.path.dirname(kernel.modules))}
        newest = written.stat().st_mtime_ns
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        if not _CACHE_ENTRY.fullmatch(entry.name) or entry.name.removesuffix(NO_PVH_SUFFIX) in needed:
            continue
        with suppress(OSError):  # gone already (another process pruned it), or not ours to remove
            if entry.stat().st_mtime_ns < newest:
                entry.unlink()


def _appliance_cache() -> str:
    folder = os.environ.get(APPLIANCE_CACHE_ENV)
    if folder:
        os.makedirs(folder, exist_ok=True)
        return os.path.abspath(folder)
    return str(cache_dir("appliance"))


def _switched_off() -> bool:
    return os.environ.get(SWITCH_ENV, "").strip().lower() in ("0", "no", "false", "off")


def fast_kernel_environment() -> dict[str, str]:
    """The variables that make the next launch boot the fast kernel; empty for the default appliance."""
    if (_switched_off() or any(os.environ.get(name) for name in USER_CHOICE_ENVS)
            or platform.machine() != "x86_64"):
        return {}
    kernel = host_kernel()
    if kernel is None:
        return {}
    try:
        vmlinux = cached_vmlinux(kernel)
        if vmlinux is None:
            return {}
        cachedir = _appliance_cache()
    except OSError:
        return {}
    return {
        KERNEL_ENV: str(vmlinux),
        VERSION_ENV: kernel.version,
        MODULES_ENV: kernel.modules,
        CACHEDIR_ENV: cachedir,
    }


@contextmanager
def environment(settings: Mapping[str, str]) -> Iterator[None]:
    """Set ``settings`` in os.environ (libguestfs reads them when the handle is made, supermin at
    launch) and restore what was there before."""
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
