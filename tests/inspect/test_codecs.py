"""The codec table shared by the kernel extractor and the initramfs parser: real streams written by the
real tools decode, stop where they end, stay within their memory and output bounds, and refuse the rest."""

from __future__ import annotations

import functools
import io
import lzma
import random
import struct
import subprocess

import pytest
import zstandard

from imgtools.inspect import codecs
from imgtools.inspect.codecs import CODECS, CorruptStream, Source, codec_for, decode_errors
from tests.support import lzma_asking, xz_asking, zstd_asking

#: Each codec's stream as the real tool writes it (lz4 -l: the legacy frames the kernel reads).
TOOLS = {
    "gzip": ["gzip", "-c", "-n"],
    "bzip2": ["bzip2", "-c"],
    "lzma": ["lzma", "-c"],
    "xz": ["xz", "-c", "--check=crc32"],
    "lz4": ["lz4", "-l", "-q", "-c"],
    "zstd": ["zstd", "-q", "-c"],
}

#: What follows a stream: a kernel payload's 4-byte size then code, or the next initramfs segment.
TRAILER = struct.pack("<I", 123456) + b"MZ and then some code"


def compress(tool: str, data: bytes) -> bytes:
    return subprocess.run(TOOLS[tool], input=data, check=True, capture_output=True).stdout


@functools.cache
def sample(size: int = 1 << 20) -> bytes:
    """Guest-like content: text that compresses well with a random stretch that does not."""
    text = b"".join(b"line %d of a file inside the guest\n" % i for i in range(size // 40))
    return (text + random.Random(7).randbytes(64 << 10))[:size]


def decode(data: bytes) -> tuple[bytes, Source, list[bytes]]:
    """The stream at the start of ``data`` decoded by the codec its magic names: output, source, steps."""
    codec = codec_for(data[:8])
    assert codec is not None
    source = Source(io.BytesIO(data))
    steps = list(codec.decode(source))
    return b"".join(steps), source, steps


def test_the_table_has_every_compression_the_kernel_unpacks_but_lzo():
    assert sorted(codec.name for codec in CODECS) == sorted(TOOLS)
    assert len({codec.magic[0] for codec in CODECS}) == len(CODECS)  # no magic can shadow another


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_real_stream_round_trips_and_stops_at_its_end(tool):
    data = sample()
    stream = compress(tool, data)
    assert codec_for(stream[:8]).name == tool
    out, source, _ = decode(stream + TRAILER)
    assert out == data
    assert source.offset == len(stream)
    assert source.take(len(TRAILER) + 1) == TRAILER


@pytest.mark.parametrize("tool", ["gzip", "bzip2", "lzma", "xz"])
def test_one_step_yields_at_most_step_output(tool):
    """A stream of zeros expands ~1000×: output comes in bounded steps, so a caller's total bound bites early."""
    zeros = bytes(8 << 20)
    out, _, steps = decode(compress(tool, zeros))
    assert out == zeros
    assert max(map(len, steps)) <= codecs.STEP_OUTPUT
    assert len(steps) >= 8


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_truncated_stream_raises_a_decode_error(tool):
    stream = compress(tool, sample())
    with pytest.raises(decode_errors()):
        decode(stream[: len(stream) // 2])


@pytest.mark.parametrize("head", [
    b"\x1f\x8b\x09\x00",        # gzip with a method that is not deflate: no gzip stream
    b"\x89LZO\0\r\n\x1a",       # lzo: not in the table
    b"070701",                  # a cpio header
    b"",
])
def test_no_codec_for_other_data(head):
    assert codec_for(head) is None


# -- memory limits: headers that ask for a 1.5 GiB dictionary or window --

HUGE = 1536 << 20
ASKING = {"lzma": lzma_asking, "xz": xz_asking, "zstd": zstd_asking}


@pytest.mark.parametrize("codec", sorted(ASKING))
def test_a_header_asking_for_more_than_memlimit_is_refused(codec):
    with pytest.raises((lzma.LZMAError, zstandard.ZstdError)):
        decode(ASKING[codec](HUGE, sample()))


@pytest.mark.parametrize("codec", sorted(ASKING))
def test_a_patched_header_within_memlimit_still_decodes(codec):
    """The patching itself is sound: the same streams asking for 16 MiB decode."""
    assert decode(ASKING[codec](16 << 20, sample()))[0] == sample()


# -- lz4 legacy: where a frame without an end mark ends --

def test_lz4_short_block_ends_the_frame_even_before_what_looks_like_a_block():
    """A gzip segment right after the frame reads as a plausible block size; the short block ends it first."""
    data = sample()
    gzip_next = compress("gzip", b"next segment")
    assert 0 < int.from_bytes(gzip_next[:4], "little") <= codecs.LZ4_LEGACY_BOUND
    out, source, _ = decode(compress("lz4", data) + gzip_next)
    assert out == data
    assert source.take(len(gzip_next)) == gzip_next


def test_lz4_whole_blocks_end_where_no_block_follows():
    """Exactly 8 MiB (one whole block): a kernel payload's size follows, naming a block beyond the input."""
    data = (sample() * 8)[: codecs.LZ4_LEGACY_BLOCK]
    trailer = struct.pack("<I", len(data)) + b"code"
    out, source, steps = decode(compress("lz4", data) + trailer)
    assert out == data and len(steps) == 1
    assert source.take(100) == trailer
    assert decode(compress("lz4", data) + bytes(16))[0] == data   # zero padding after whole blocks


def test_lz4_concatenated_frames_are_one_stream():
    first, second = sample(), b"second frame" * 1000
    out, source, _ = decode(compress("lz4", first) + compress("lz4", second))
    assert out == first + second
    assert source.take(1) == b""


@pytest.mark.parametrize("data", [
    codecs.LZ4_LEGACY_MAGIC,                                     # a magic and nothing else
    codecs.LZ4_LEGACY_MAGIC + bytes(4),                          # a zero size where a block must be
    codecs.LZ4_LEGACY_MAGIC + struct.pack("<I", 1 << 30) + b"x",  # a size no block has
], ids=["magic-only", "zero-size", "huge-size"])
def test_lz4_frame_without_a_block_is_corrupt(data):
    with pytest.raises(CorruptStream):
        decode(data)
