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

import bz2
import hashlib
import lzma
import os
import platform
import re
import struct
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping

from ..cache import cache_dir
from ..fileio import write_atomically

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
#: An xz/lzma header asking for a larger dictionary is not a kernel's (they use 32 MiB at most).
LZMA_MEMLIMIT = 256 << 20
#: Input fed to a decompressor per step: a false-positive magic is rejected after one step.
FEED_STEP = 64 << 10

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


def host_kernel(boot_dir: str | None = None, modules_dir: str | None = None) -> HostKernel | None:
    """The kernel supermin picks: the newest ``vmlinuz-VER`` that has ``modules_dir/VER``.

    ``uname -r`` is no guide: in a container it names the host's kernel, not one installed here.
    """
    boot_dir, modules_dir = boot_dir or BOOT_DIR, modules_dir or MODULES_DIR
    try:
        names = os.listdir(boot_dir)
    except OSError:
        return None
    found = [
        HostKernel(os.path.join(boot_dir, name), version, os.path.join(modules_dir, version))
        for name in names
        if name.startswith("vmlinuz-")
        for version in [name[len("vmlinuz-"):]]
        if os.path.isdir(os.path.join(modules_dir, version))
    ]
    return max(found, key=lambda kernel: _natural_key(kernel.version), default=None)


# -- the compressed payload: found by magic, decompressed as a stream --

def _feed(decompressor, data: memoryview) -> Iterator[bytes]:
    """Decompressed output of one stream, step by step; stops at the stream's end (a kernel
    image goes on after it), raises EOFError when the data ends first."""
    for start in range(0, len(data), FEED_STEP):
        yield decompressor.decompress(data[start:start + FEED_STEP])
        if decompressor.eof:
            return
    raise EOFError("compressed stream truncated")


def _zstd(data: memoryview) -> Iterator[bytes]:
    import zstandard

    return _feed(zstandard.ZstdDecompressor().decompressobj(), data)


#: lz4 -l (legacy) frames: 4-byte block sizes, every block but the last 8 MiB uncompressed.
LZ4_LEGACY_BLOCK = 8 << 20


def _lz4_legacy(data: memoryview) -> Iterator[bytes]:
    """The frame has no end mark: it ends with a short block, or (output a multiple of 8 MiB)
    where the next 'block size' makes no sense; whether the output is whole is the ELF check's call."""
    import lz4.block

    pos = 4
    while pos + 4 <= len(data):
        (size,) = struct.unpack_from("<I", data, pos)
        if size == 0 or pos + 4 + size > len(data):
            if pos > 4:
                return
            raise EOFError("lz4 block runs past the data")
        block = lz4.block.decompress(data[pos + 4:pos + 4 + size], uncompressed_size=LZ4_LEGACY_BLOCK)
        yield block
        if len(block) < LZ4_LEGACY_BLOCK:
            return
        pos += 4 + size
    raise EOFError("lz4 stream truncated")


@dataclass(frozen=True)
class Codec:
    """A compression the kernel build supports, the magic that starts its stream, and a decoder."""

    name: str
    magic: bytes
    stream: Callable[[memoryview], Iterator[bytes]]


CODECS: tuple[Codec, ...] = (
    Codec("xz", b"\xfd7zXZ\x00",
          lambda data: _feed(lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=LZMA_MEMLIMIT), data)),
    Codec("zstd", b"\x28\xb5\x2f\xfd", _zstd),
    Codec("gzip", b"\x1f\x8b\x08", lambda data: _feed(zlib.decompressobj(wbits=31), data)),
    Codec("lz4", b"\x02\x21\x4c\x18", _lz4_legacy),
    Codec("bzip2", b"BZh", lambda data: _feed(bz2.BZ2Decompressor(), data)),
    Codec("lzma", b"\x5d\x00\x00",
          lambda data: _feed(lzma.LZMADecompressor(lzma.FORMAT_ALONE, memlimit=LZMA_MEMLIMIT), data)),
)


def _decode_errors() -> tuple[type[BaseException], ...]:
    """What a decoder raises on data that is not its stream (a false-positive magic)."""
    import lz4.block
    import zstandard

    return (lzma.LZMAError, zlib.error, zstandard.ZstdError, lz4.block.LZ4BlockError,
            OSError, EOFError, ValueError)


def _candidates(image: bytes) -> list[tuple[int, Codec]]:
    """Every offset where some codec's magic occurs, in file order."""
    found = []
    for codec in CODECS:
        offset = image.find(codec.magic)
        while offset >= 0:
            found.append((offset, codec))
            offset = image.find(codec.magic, offset + 1)
    return sorted(found, key=lambda candidate: candidate[0])


def _decompress_elf(codec: Codec, data: memoryview) -> bytes | None:
    """The stream at ``data`` if it decodes, whole, into something that starts like an ELF file."""
    out = bytearray()
    try:
        for chunk in codec.stream(data):
            out += chunk
            if out[:len(ELF_MAGIC)] != ELF_MAGIC[:len(out)] or len(out) > MAX_VMLINUX:
                return None
    except _decode_errors():
        return None
    return bytes(out)


def extract_vmlinux(image: bytes) -> bytes | None:
    """The uncompressed ELF kernel inside a bzImage, or None.

    Each magic is tried in file order until one decodes into a complete ELF:
    the bytes of a magic also occur by chance (in the set-up code, in another
    stream).  The first complete ELF is the kernel: it is returned only if it
    can be booted through PVH.
    """
    view = memoryview(image)
    for offset, codec in _candidates(image):
        elf = _decompress_elf(codec, view[offset:])
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

def cached_vmlinux(kernel: HostKernel) -> Path | None:
    """The PVH-bootable ELF of ``kernel``, extracted once and kept in the cache, else None.

    Keyed by the kernel file's path, size and mtime (a kernel update is a new
    entry); a kernel without the PVH note leaves a marker so it is not
    decompressed at every launch.
    """
    st = os.stat(kernel.path)
    key = hashlib.sha256(f"{kernel.path}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
    target = cache_dir("kernel") / f"vmlinux-{kernel.version}-{key}"
    refused = target.with_name(f"{target.name}.no-pvh")
    if target.exists():
        return target
    if refused.exists():
        return None
    elf = extract_vmlinux(Path(kernel.path).read_bytes())
    write_atomically(target if elf else refused, elf or b"")  # a batch launches several at once
    return target if elf else None


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
