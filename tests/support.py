"""Helpers for tests: real images made with qemu-img, file digests."""

from __future__ import annotations

import hashlib
import lzma
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import zstandard


def qemu_img(*args: str) -> str:
    return subprocess.run(["qemu-img", *args], check=True, capture_output=True, text=True).stdout


def fresh_python(code: str) -> str:
    """What ``code`` prints in a fresh interpreter (stripped): for what importing a module loads."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def make_image(path: Path, fmt: str, size: str = "64M", *options: str) -> Path:
    """Create an empty image with qemu-img; ``options`` are passed as ``-o`` values."""
    argv = ["create", "-q", "-f", fmt]
    if options:
        argv += ["-o", ",".join(options)]
    qemu_img(*argv, str(path), size)
    return path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- compressed streams whose header asks for more memory than a decoder may use (hostile guests) --

def lzma_asking(dict_size: int, data: bytes) -> bytes:
    """A real .lzma stream of ``data`` whose header's dictionary size (bytes 1-4) says ``dict_size``."""
    stream = bytearray(lzma.compress(data, format=lzma.FORMAT_ALONE))
    struct.pack_into("<I", stream, 1, dict_size)
    return bytes(stream)


def xz_asking(dict_size: int, data: bytes) -> bytes:
    """A real .xz stream of ``data`` whose LZMA2 property byte asks for ``dict_size`` (block header CRC redone).

    ``dict_size`` must be 2^n or 3 × 2^(n-1), the sizes the property byte can say.
    """
    stream = bytearray(lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32,
                                     filters=[{"id": lzma.FILTER_LZMA2, "dict_size": 1 << 20}]))
    header_at, header_size = 12, (stream[12] + 1) * 4              # the first block header follows the stream's
    filter_at = stream.index(b"\x21\x01", header_at, header_at + header_size)  # LZMA2, one property byte
    stream[filter_at + 2] = next(prop for prop in range(41)       # dictionary = (2 | p & 1) << (p // 2 + 11)
                                 if (2 | prop & 1) << (prop // 2 + 11) == dict_size)
    crc_at = header_at + header_size - 4
    struct.pack_into("<I", stream, crc_at, zlib.crc32(stream[header_at:crc_at]))
    return bytes(stream)


def zstd_asking(window: int, data: bytes) -> bytes:
    """A real zstd frame of ``data`` whose window descriptor asks for ``window`` (2^n plus k/8 of it)."""
    frame = bytearray(zstandard.ZstdCompressor(write_content_size=False).compress(data))
    assert not frame[4] & 0x20, "single-segment frame: no window descriptor to patch"
    log = window.bit_length() - 1
    frame[5] = (log - 10) << 3 | (window - (1 << log)) // (1 << (log - 3))
    return bytes(frame)
