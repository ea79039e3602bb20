"""The compressions Linux unpacks (its kernel payload, its initramfs), decoded as bounded streams.

One table serves the two readers of compressed Linux data: the host kernel's
bzImage payload (:mod:`imgtools.inspect.kernel`) and a guest's initramfs
segments (:mod:`imgtools.inspect.parse.initramfs`).  The guest's bytes come
from a possibly hostile image, so every decoder is bounded whatever its input
says:

- memory: xz/lzma refuse a header asking for more than :data:`MEMLIMIT`
  (a kernel or initramfs uses a few MiB of dictionary; a hostile one names
  1.5 GiB), zstd refuses a frame whose window exceeds it, gzip (32 KiB
  window), bzip2 (900 KiB blocks) and lz4 legacy (8 MiB blocks) are bounded
  by their formats;
- output: one step yields at most :data:`STEP_OUTPUT` bytes (zstd and lz4
  at most one slice's or one block's worth), so the caller's own total bound
  (``max_output``, a kernel's size) stops a bomb after one step too many,
  never after the whole bomb.

Every decoder stops at the end of its stream and pushes back what follows:
a kernel payload is followed by its size and the decompressor's code, an
initramfs segment by padding and the next segment.  Truncated or malformed
data raises one of :func:`decode_errors`, never anything the caller cannot
name.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import lz4.block
import zstandard

#: The most memory one decoder may need (xz/lzma dictionary, zstd window).
MEMLIMIT = 256 << 20
#: Bytes read from the input at a time: a false-positive magic is rejected after one read.
READ_STEP = 64 << 10
#: The most decompressed bytes one step yields (lz4 legacy: one block).
STEP_OUTPUT = 1 << 20

#: lz4 -l (legacy) frames: magic, then (size, block) pairs; every block but the last holds 8 MiB.
LZ4_LEGACY_MAGIC = b"\x02\x21\x4c\x18"
LZ4_LEGACY_BLOCK = 8 << 20
#: The largest compressed size of an 8 MiB block (LZ4_COMPRESSBOUND); a larger 'size' is not a block.
LZ4_LEGACY_BOUND = LZ4_LEGACY_BLOCK + LZ4_LEGACY_BLOCK // 255 + 16
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class CorruptStream(Exception):
    """The compressed stream ends before its end mark, or breaks its format."""


def decode_errors() -> tuple[type[BaseException], ...]:
    """What decoding raises on data that is not (all of) its stream, a false-positive magic included."""
    return (CorruptStream, lzma.LZMAError, zlib.error, zstandard.ZstdError, lz4.block.LZ4BlockError,
            OSError, EOFError, ValueError)


class Source:
    """An input stream read in steps, with push-back of what a decoder read past its stream's end."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._pushed = b""
        #: Bytes consumed so far (pushed-back bytes are not consumed).
        self.offset = 0

    def read(self) -> bytes:
        """The next piece of input (at most :data:`READ_STEP` from the stream), b'' at its end."""
        data, self._pushed = (self._pushed, b"") if self._pushed else (self._stream.read(READ_STEP) or b"", b"")
        self.offset += len(data)
        return data

    def unread(self, data: bytes) -> None:
        self._pushed = data + self._pushed
        self.offset -= len(data)

    def take(self, size: int) -> bytes:
        """Exactly ``size`` bytes, fewer only at the end of the stream."""
        parts, have = [], 0
        while have < size:
            chunk = self.read()
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        data = b"".join(parts)
        self.unread(data[size:])
        return data[:size]

    def peek(self, size: int) -> bytes:
        data = self.take(size)
        self.unread(data)
        return data


# -- decoders with bz2/lzma's shape: decompress(data, max_length), eof, needs_input, unused_data --

class _Decoder(Protocol):
    eof: bool
    needs_input: bool
    unused_data: bytes

    def decompress(self, data: bytes, max_length: int) -> bytes: ...


class _Gzip:
    """zlib's object keeps unconsumed input outside; give it bz2/lzma's shape.

    One gzip member, as the kernel reads: a following member starts the next segment.
    """

    def __init__(self) -> None:
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._tail = b""

    def decompress(self, data: bytes, max_length: int) -> bytes:
        out = self._d.decompress(self._tail + data, max_length)
        self._tail = self._d.unconsumed_tail
        return out

    eof = property(lambda self: self._d.eof)
    needs_input = property(lambda self: not self._tail)
    unused_data = property(lambda self: self._d.unused_data)


class _Zstd:
    """zstandard cannot cap output per call: feed it small slices, so one call yields at most
    ~64 MiB (one slice of 4-byte RLE blocks of 128 KiB each)."""

    _SLICE = 2048

    def __init__(self) -> None:
        self._d = zstandard.ZstdDecompressor(max_window_size=MEMLIMIT).decompressobj()
        self._pending = b""
        self._at = 0

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if data:
            self._pending, self._at = self._pending[self._at:] + data, 0
        piece = self._pending[self._at: self._at + self._SLICE]
        self._at += len(piece)
        return self._d.decompress(piece)

    eof = property(lambda self: self._d.eof)
    needs_input = property(lambda self: self._at >= len(self._pending))
    unused_data = property(lambda self: self._d.unused_data + self._pending[self._at:])


def _decoded(make: Callable[[], _Decoder], frames: bytes | None = None) -> Callable[[Source], Iterator[bytes]]:
    """The stream decoder built on ``make``; with ``frames``, directly following frames that start
    with those bytes continue the stream."""
    def decode(source: Source) -> Iterator[bytes]:
        while True:
            decoder = make()
            while not decoder.eof:
                chunk = source.read() if decoder.needs_input else b""
                if decoder.needs_input and not chunk:
                    raise CorruptStream("compressed stream truncated")
                yield decoder.decompress(chunk, STEP_OUTPUT)
            source.unread(decoder.unused_data)
            if frames is None or source.peek(len(frames)) != frames:
                return
    return decode


def _lz4_legacy(source: Source) -> Iterator[bytes]:
    """``lz4 -l``: magic, then (little-endian size, block) pairs, with no end mark.

    Where the frame ends must serve both readers: a kernel payload is followed
    by its 4-byte uncompressed size and code, initramfs segments by zero
    padding or the next segment (whose magic, read as a size, may look like
    a block).  So the format's own rule comes first: only the last block holds
    less than 8 MiB, so a short block ends the frame.  After a whole block the
    frame ends at the end of input, at a zero size, at a size no block can
    have, or at a block running past the input (a kernel of exactly 8 MiB,
    followed by its size).  The magic again, wherever a block could start,
    continues the stream: ``lz4`` concatenates frames and the kernel reads on.
    """
    source.take(len(LZ4_LEGACY_MAGIC))
    need_block, whole = True, True      # right after a magic a block must follow
    while True:
        head = source.peek(4)
        if head == LZ4_LEGACY_MAGIC:
            source.take(4)
            need_block = True
            continue
        if not (need_block or whole):
            return
        size = int.from_bytes(head, "little") if len(head) == 4 else 0
        taken = source.take(4 + size) if 0 < size <= LZ4_LEGACY_BOUND else b""
        if len(taken) < 4 + size:   # no block here
            source.unread(taken)
            if need_block:
                raise CorruptStream("lz4 frame without a whole block")
            return
        out = lz4.block.decompress(memoryview(taken)[4:], uncompressed_size=LZ4_LEGACY_BLOCK)
        need_block, whole = False, len(out) == LZ4_LEGACY_BLOCK
        yield out


@dataclass(frozen=True)
class Codec:
    """A compression Linux unpacks: its name, the magic that starts its stream, and the stream's decoder.

    ``decode(source)`` yields the decompressed output piece by piece and
    leaves ``source`` just after the stream.
    """

    name: str
    magic: bytes
    decode: Callable[[Source], Iterator[bytes]]


#: The kernel's decompress_method() table, minus lzo (rare; its magic is not recognised).
#: gzip's magic includes the method byte (deflate, the only one): two bytes occur too often by chance.
CODECS: tuple[Codec, ...] = (
    Codec("gzip", b"\x1f\x8b\x08", _decoded(_Gzip)),
    Codec("bzip2", b"BZh", _decoded(bz2.BZ2Decompressor)),
    Codec("lzma", b"\x5d\x00\x00",
          _decoded(lambda: lzma.LZMADecompressor(lzma.FORMAT_ALONE, memlimit=MEMLIMIT))),
    Codec("xz", b"\xfd7zXZ\x00", _decoded(lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=MEMLIMIT))),
    Codec("lz4", LZ4_LEGACY_MAGIC, _lz4_legacy),
    Codec("zstd", ZSTD_MAGIC, _decoded(_Zstd, frames=ZSTD_MAGIC)),   # pzstd writes one frame per thread
)


def codec_for(head: bytes) -> Codec | None:
    """The codec whose stream ``head`` starts, if any."""
    return next((codec for codec in CODECS if head.startswith(codec.magic)), None)
