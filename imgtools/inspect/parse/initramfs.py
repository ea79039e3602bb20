"""List an initramfs the way the kernel unpacks it, without trusting it.

An initramfs is a concatenation of segments: uncompressed cpio archives
(dracut's early microcode, ``early_cpio``), zero padding, and compressed
segments (gzip, bzip2, lzma, xz, zstd, lz4 legacy) each holding one or more
cpio archives.  The rules follow ``init/initramfs.c``: cpio headers start
4-byte aligned, zeros between archives are skipped, anything else is junk.

The guest is untrusted: decompressed output is bounded by ``max_output``,
the member count by ``max_members``, each decoder's memory by
:mod:`imgtools.inspect.codecs` (the table of compressions, shared with the
kernel extractor); a bomb, a header asking for a huge dictionary, truncated
or corrupt data yields ``complete=False`` with whatever was listed before,
never an exception or unbounded memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

from pydantic import Field

from imgtools.facts import Model
from imgtools.inspect.codecs import Source, codec_for

_HEADER = 110            # newc/crc header: 6-byte magic + 13 × 8 hex digits
_PATH_MAX = 4096
_MAGICS = (b"070701", b"070702")
_TRAILER = "TRAILER!!!"
_ZEROS = bytes(1 << 16)
_HEX_FIELDS = re.compile(rb"[0-9A-Fa-f]{%d}" % (_HEADER - 6))


class InitramfsListing(Model):
    #: Member paths without a leading ``./`` or ``/``, in archive order.
    members: list[str] = Field(default_factory=list)
    #: One word per segment in order: ``none`` (plain cpio), gzip, bzip2, lzma, xz, zstd, lz4.
    compression: list[str] = Field(default_factory=list)
    #: Every segment was read to its end and is well-formed.
    complete: bool = False


class _Corrupt(Exception):
    """The archive breaks a rule the kernel enforces, or exceeds a bound."""


# -- cpio --

@dataclass
class _Sink:
    """What the walk collects: member names, and optionally one member's content."""

    max_members: int
    want: str | None = None
    max_size: int = 0
    captured: bytes | None = None

    def __post_init__(self) -> None:
        self.members: list[str] = []

    def add(self, name: str) -> None:
        if len(self.members) >= self.max_members:
            raise _Corrupt("too many members")
        self.members.append(name)


def _normalise(name: str) -> str:
    return name.removeprefix("./").lstrip("/")


class _Cpio:
    """Push parser for consecutive newc/crc archives, following the kernel's state machine.

    ``embedded`` parsers read decompressed output, where any byte between
    archives other than zero padding or an aligned header is junk.  The
    top-level parser instead stops there and lets the caller look for a
    compressed segment.
    """

    def __init__(self, sink: _Sink, *, embedded: bool, offset: int = 0):
        self.sink = sink
        self.embedded = embedded
        self.offset = offset
        self.state = "reset"
        self.stopped = False
        self.started = False        # a header was seen since the last reset of this flag
        self._pending = bytearray()
        self._need = 0
        self._skip = 0
        self._filesize = 0
        self._namesize = 0
        self._capture: bytearray | None = None

    def feed(self, data: bytes) -> int:
        """Consume ``data``; returns how much was used (less only when a top-level parser stops)."""
        i, end = 0, len(data)
        self.stopped = False
        while i < end:
            if self.state == "reset":
                stop = _skip_zeros(data, i)
                self.offset += stop - i
                i = stop
                if i == end:
                    break
                if data[i] != 0x30 or self.offset & 3:   # '0' starting an aligned header
                    if self.embedded:
                        raise _Corrupt("junk within compressed archive")
                    self.stopped = True
                    return i
                self.state, self._need = "header", _HEADER
                self._pending.clear()
                self.started = True
            elif self.state in ("header", "name"):
                take = min(self._need - len(self._pending), end - i)
                self._pending += data[i:i + take]
                i += take
                self.offset += take
                if len(self._pending) == self._need:
                    self._collected()
            else:  # "data"
                take = min(self._skip, end - i)
                if self._capture is not None:
                    self._capture += data[i:i + min(take, self._filesize - len(self._capture))]
                i += take
                self.offset += take
                self._skip -= take
                if self._skip == 0:
                    self._end_member()
        return i

    def _collected(self) -> None:
        if self.state == "header":
            header = bytes(self._pending)
            if header[:6] not in _MAGICS:
                raise _Corrupt("no cpio magic")
            if not _HEX_FIELDS.fullmatch(header, 6):   # int() alone would accept signs, spaces, underscores
                raise _Corrupt("bad cpio header")
            fields = [int(header[6 + 8 * k: 14 + 8 * k], 16) for k in range(13)]
            self._filesize, self._namesize = fields[6], fields[11]
            if not 0 < self._namesize <= _PATH_MAX:
                raise _Corrupt("bad cpio name size")
            self.state, self._need = "name", _align(_HEADER + self._namesize) - _HEADER
            self._pending.clear()
            return
        name = bytes(self._pending[: self._namesize - 1]).decode("utf-8", "surrogateescape")
        self.state, self._skip = "data", _align(self._filesize)
        if name != _TRAILER:
            member = _normalise(name)
            if member and member != ".":
                self.sink.add(member)
                if member == self.sink.want:
                    self.sink.captured = None
                    self._capture = bytearray() if self._filesize <= self.sink.max_size else None
        if self._skip == 0:
            self._end_member()

    def _end_member(self) -> None:
        if self._capture is not None:
            self.sink.captured = bytes(self._capture)
            self._capture = None
        self.state = "reset"


def _skip_zeros(data: bytes, i: int) -> int:
    """Index of the first non-zero byte at or after ``i``, or ``len(data)``; fast on long runs (bombs)."""
    while i < len(data) and data[i] == 0:
        window = data[i:i + len(_ZEROS)]
        if window == _ZEROS[:len(window)]:
            i += len(window)
        else:
            i += len(window) - len(window.lstrip(b"\0"))
    return i


def _align(n: int) -> int:
    return (n + 3) & ~3


# -- the walk --

def _walk(stream: BinaryIO, sink: _Sink, max_output: int) -> InitramfsListing:
    inp = Source(stream)
    top = _Cpio(sink, embedded=False)
    listing = InitramfsListing()
    produced = 0
    plain_open = False   # the current plain segment is already in listing.compression
    try:
        while True:
            chunk = inp.read()
            if not chunk:
                break
            used = top.feed(chunk)
            if top.started and not plain_open:
                listing.compression.append("none")
                plain_open = True
            top.started = False
            if not top.stopped:
                continue
            inp.unread(chunk[used:])
            codec = codec_for(inp.peek(8))
            if codec is None:
                raise _Corrupt("invalid magic at start of compressed archive")
            listing.compression.append(codec.name)
            plain_open = False
            inner = _Cpio(sink, embedded=True)
            for out in codec.decode(inp):
                produced += len(out)
                if produced > max_output:
                    raise _Corrupt("decompressed output exceeds the bound")
                inner.feed(out)
            if inner.state != "reset":
                raise _Corrupt("junk at the end of compressed archive")
            top.offset = inp.offset
        listing.complete = top.state == "reset"
    except Exception:  # noqa: BLE001 - zlib, lzma, bz2, zstd, lz4 and the stream raise a zoo of types on bad data
        listing.complete = False
    listing.members = sink.members
    return listing


def list_initramfs(stream: BinaryIO, *, max_output: int = 1 << 30, max_members: int = 500_000) -> InitramfsListing:
    """Every member of every segment of the initramfs in ``stream``."""
    return _walk(stream, _Sink(max_members), max_output)


def read_member(stream: BinaryIO, name: str, max_size: int, *, max_output: int = 1 << 30) -> bytes | None:
    """The content of member ``name`` (the last one of that name, as the kernel overwrites), or None.

    None also when the member is larger than ``max_size``.
    """
    sink = _Sink(500_000, want=_normalise(name), max_size=max_size)
    _walk(stream, sink, max_output)
    return sink.captured
