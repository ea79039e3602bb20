"""Initramfs listings from real archives: cpio written here and by GNU cpio, compressed by the real tools."""

from __future__ import annotations

import io
import random
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from imgtools.inspect.parse.initramfs import list_initramfs, read_member
from tests.support import lzma_asking, xz_asking, zstd_asking

MODULE = "usr/lib/modules/6.1.0-13-amd64/kernel/drivers/block/virtio_blk.ko"
MICROCODE = "kernel/x86/microcode/GenuineIntel.bin"


def newc(files: dict[str, bytes], magic: bytes = b"070701") -> bytes:
    """A newc (or crc) archive of regular files, written field by field as the format defines."""
    out = bytearray()

    def member(name: str, data: bytes, mode: int) -> None:
        encoded = name.encode() + b"\0"
        check = sum(data) & 0xFFFFFFFF if magic == b"070702" else 0
        fields = [1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), check]
        out.extend(magic + b"".join(b"%08X" % f for f in fields) + encoded)
        out.extend(b"\0" * (-len(out) % 4))
        out.extend(data)
        out.extend(b"\0" * (-len(out) % 4))

    for name, data in files.items():
        member(name, data, 0o100644)
    member("TRAILER!!!", b"", 0)
    return bytes(out)


def listing(data: bytes, **kwargs):
    return list_initramfs(io.BytesIO(data), **kwargs)


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, Path]:
    """Two directory trees as mkinitramfs and dracut would archive them: early microcode, main image."""
    base = tmp_path_factory.mktemp("initramfs")
    files = {
        "early": {MICROCODE: b"microcode" * 100},
        "main": {
            "init": b"#!/bin/sh\nexec /sbin/init\n",
            "etc/hostname": b"guest\n",
            "etc/udev/rules.d/70-persistent-net.rules": b'SUBSYSTEM=="net", ATTR{address}=="00:0c:29:00:00:01", NAME="eth0"\n',
            MODULE: bytes(range(256)) * 64,
            "usr/lib/modules/6.1.0-13-amd64/kernel/drivers/virtio/virtio_ring.ko": b"\x7fELF" + b"r" * 999,
        },
    }
    for tree, content in files.items():
        for name, data in content.items():
            path = base / tree / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return {tree: base / tree for tree in files}


def gnu_cpio(tree: Path, fmt: str = "newc") -> bytes:
    names = subprocess.run(["find", "."], cwd=tree, check=True, capture_output=True).stdout
    return subprocess.run(["cpio", "-o", "--quiet", "-H", fmt], cwd=tree, input=names, check=True, capture_output=True).stdout


COMPRESSORS = {
    "gzip": ["gzip", "-c", "-n"],
    "xz": ["xz", "-c", "--check=crc32"],
    "zstd": ["zstd", "-q", "-c"],
    "lz4": ["lz4", "-l", "-q", "-c"],
    "bzip2": ["bzip2", "-c"],
    "lzma": ["lzma", "-c"],
}


def compress(tool: str, data: bytes) -> bytes:
    return subprocess.run(COMPRESSORS[tool], input=data, check=True, capture_output=True).stdout


def test_python_newc_uncompressed():
    result = listing(newc({"init": b"x", "etc/fstab": b"UUID=a / ext4 defaults 0 1\n"}))
    assert result.members == ["init", "etc/fstab"]
    assert result.compression == ["none"]
    assert result.complete


def test_crc_format_written_here_and_by_gnu_cpio(trees):
    assert listing(newc({"a": b"abc"}, magic=b"070702")).members == ["a"]
    result = listing(gnu_cpio(trees["main"], "crc"))
    assert MODULE in result.members and result.complete


@pytest.mark.parametrize("tool", sorted(COMPRESSORS))
def test_early_cpio_then_compressed_main(trees, tool):
    data = gnu_cpio(trees["early"]) + compress(tool, gnu_cpio(trees["main"]))
    result = listing(data)
    assert result.compression == ["none", tool]
    assert result.complete
    assert MICROCODE in result.members
    assert MODULE in result.members
    assert "etc/udev/rules.d/70-persistent-net.rules" in result.members
    assert not any(m.startswith(("./", "/")) or m in ("", ".") for m in result.members)


@pytest.mark.parametrize("tool", sorted(COMPRESSORS))
def test_compressed_only(trees, tool):
    result = listing(compress(tool, gnu_cpio(trees["main"])))
    assert result.compression == [tool] and result.complete and MODULE in result.members


def test_segments_with_zero_padding_and_several_archives_per_segment(trees):
    early = newc({MICROCODE: b"m"})
    two_archives = gnu_cpio(trees["main"]) + b"\0" * 512 + newc({"extra/one": b"1"})
    data = early + b"\0" * 509 + b"\0" * (-(len(early) + 509) % 4) + compress("gzip", two_archives) + b"\0" * 3 + compress("xz", newc({"extra/two": b"2"})) + b"\0" * 1024
    result = listing(data)
    assert result.compression == ["none", "gzip", "xz"]
    assert result.complete
    assert result.members[0] == MICROCODE
    assert result.members[-2:] == ["extra/one", "extra/two"]


def test_zstd_frames_splitting_a_member_form_one_segment(trees):
    archive = gnu_cpio(trees["main"])
    half = len(archive) // 2 + 1                      # the cut falls inside a member
    result = listing(compress("zstd", archive[:half]) + compress("zstd", archive[half:]))
    assert result.compression == ["zstd"] and result.complete and MODULE in result.members


def test_lz4_legacy_with_several_blocks():
    big = newc({"big.bin": bytes(range(251)) * ((10 << 20) // 251), "after": b"a"})  # 10 MiB: two 8 MiB blocks
    data = compress("lz4", big)
    first_block = int.from_bytes(data[4:8], "little")
    assert len(data) > 8 + first_block  # a second block follows
    result = listing(data)
    assert result.members == ["big.bin", "after"] and result.complete


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95])
@pytest.mark.parametrize("tool", ["gzip", "xz", "zstd", "lz4"])
def test_truncated_is_incomplete(trees, tool, cut):
    early, main = gnu_cpio(trees["early"]), compress(tool, gnu_cpio(trees["main"]))
    result = listing(early + main[: int(len(main) * cut)])
    assert not result.complete
    assert MICROCODE in result.members


def test_truncated_uncompressed_keeps_what_was_read():
    data = newc({"first": b"1", "second": b"2" * 4000})
    result = listing(data[:300])
    assert result.members == ["first", "second"] and not result.complete


@pytest.mark.parametrize("tool", ["gzip", "xz", "zstd", "bzip2"])
def test_corrupt_compressed_data_is_incomplete(trees, tool):
    data = bytearray(compress(tool, gnu_cpio(trees["main"])))
    for i in range(len(data) // 3, len(data) // 3 + 40):
        data[i] ^= 0x5A
    assert not listing(bytes(data)).complete


@pytest.mark.parametrize("data", [
    b"",                                          # nothing: no archive at all
    b"\0" * 100,                                  # only padding
])
def test_empty_inputs(data):
    result = listing(data)
    assert result.members == [] and result.compression == []


@pytest.mark.parametrize("data", [
    b"this is not an initramfs at all",
    newc({"a": b"1"}) + b"garbage after the trailer",
    b"0707" + b"0" * 200,                           # magic too short
    b"070701" + b"G" * 104,                         # hex fields that are not hex
    newc({"a": b"1"}).replace(b"0000000200000000", b"0000FFFF00000000", 1),  # absurd name size
    b"\0\0" + newc({"a": b"1"}),                    # header not 4-byte aligned
    compress("gzip", b"junk inside the compressed segment"),
    b"\x89LZO\0\r\n\x1a\n",                          # lzo: not supported, never guessed at
])
def test_malformed_is_incomplete_never_an_exception(data):
    assert not listing(data).complete


@pytest.mark.parametrize("field", [b"-0000010", b" 0000010", b"0000_010", b"+0000010"])
def test_header_fields_are_strict_hex(field):
    archive = bytearray(newc({"a": b"1", "b": b"2"}))
    archive[6 + 8 * 6: 6 + 8 * 7] = field   # filesize of the first member
    assert not listing(bytes(archive)).complete


def test_name_size_bound_is_checked():
    archive = bytearray(newc({"a": b"1"}))
    archive[6 + 8 * 11: 6 + 8 * 12] = b"00002000"   # namesize 8192 > PATH_MAX
    assert not listing(bytes(archive)).complete


def test_member_count_is_bounded():
    data = compress("gzip", newc({f"f{i}": b"" for i in range(100)}))
    result = listing(data, max_members=10)
    assert not result.complete and len(result.members) == 10


def test_stream_errors_are_incomplete():
    class Failing(io.RawIOBase):
        def readable(self):
            return True

        def readinto(self, buffer):
            raise OSError("I/O error reading the guest")

    assert not list_initramfs(Failing()).complete


def _gzip_bomb(gib: int = 2) -> bytes:
    """``gib`` GiB of zeros gzip'ed without materialising them: with full flushes every 16 MiB piece compresses alike."""
    zeros = bytes(16 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    pieces = gib * 64
    last = deflate.compress(zeros) + deflate.flush()
    crc = 0
    for _ in range(pieces):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
    return header + piece * (pieces - 1) + last + struct.pack("<II", crc, (pieces << 24) & 0xFFFFFFFF)


def test_gzip_bomb_stops_at_max_output():
    bomb = _gzip_bomb()
    assert len(bomb) < 4 << 20
    started = time.process_time()
    result = listing(newc({MICROCODE: b"m"}) + bomb, max_output=256 << 20)
    assert time.process_time() - started < 10
    assert not result.complete
    assert result.compression == ["none", "gzip"] and result.members == [MICROCODE]


def test_zstd_bomb_stops_at_max_output():
    bomb = subprocess.run("head -c 1G /dev/zero | zstd -q -c", shell=True, check=True, capture_output=True).stdout
    result = listing(bomb, max_output=64 << 20)
    assert not result.complete and result.compression == ["zstd"]


@pytest.mark.parametrize("asking, name", [(lzma_asking, "lzma"), (xz_asking, "xz"), (zstd_asking, "zstd")],
                         ids=["lzma", "xz", "zstd"])
def test_a_segment_asking_for_a_huge_dictionary_is_refused_not_allocated(trees, asking, name):
    """A hostile guest's header asks for 1.5 GiB: the segment is unreadable, what came before stays listed."""
    early = gnu_cpio(trees["early"])
    result = listing(early + asking(1536 << 20, gnu_cpio(trees["main"])))
    assert not result.complete
    assert result.compression == ["none", name]
    assert result.members == listing(early).members and MICROCODE in result.members
    assert listing(gnu_cpio(trees["early"]) + asking(16 << 20, gnu_cpio(trees["main"]))).complete  # the patch is sound


def test_a_segment_of_every_compression_in_one_initramfs(trees):
    """Each codec's stream stops where it ends and hands the rest back: padding, then the next segment."""
    segments = [gnu_cpio(trees["early"])]
    for i, tool in enumerate(sorted(COMPRESSORS)):
        segment = compress(tool, newc({f"extra/{tool}": tool.encode()}))
        segments.append(segment + b"\0" * (-len(segment) % 4 + 4 * i))   # kernel-style zero padding
    result = listing(b"".join(segments))
    assert result.complete
    assert result.compression == ["none", *sorted(COMPRESSORS)]
    assert MICROCODE in result.members
    assert result.members[-len(COMPRESSORS):] == [f"extra/{tool}" for tool in sorted(COMPRESSORS)]


def test_read_member(trees):
    data = gnu_cpio(trees["early"]) + compress("zstd", gnu_cpio(trees["main"]))
    assert read_member(io.BytesIO(data), "etc/hostname", 1024) == b"guest\n"
    assert read_member(io.BytesIO(data), "/etc/udev/rules.d/70-persistent-net.rules", 1024).startswith(b"SUBSYSTEM")
    assert read_member(io.BytesIO(data), MODULE, 1 << 20) == bytes(range(256)) * 64
    assert read_member(io.BytesIO(data), MODULE, 100) is None      # larger than allowed
    assert read_member(io.BytesIO(data), "etc/shadow", 1024) is None


def test_read_member_last_copy_wins():
    data = newc({"etc/x": b"old"}) + compress("gzip", newc({"etc/x": b"new"}))
    assert read_member(io.BytesIO(data), "etc/x", 10) == b"new"


@pytest.mark.parametrize("tool", [None, "gzip", "zstd", "lz4"])
def test_random_corruption_never_raises(trees, tool):
    """Seeded mutations (flipped bytes, cuts, splices) of a real initramfs: always a listing, never an exception."""
    main = gnu_cpio(trees["main"])
    original = newc({MICROCODE: b"m"}) + (compress(tool, main) if tool else main)
    rng = random.Random(1234)
    for _ in range(150):
        data = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            del data[rng.randrange(len(data)):]
        result = listing(bytes(data), max_output=8 << 20)
        assert isinstance(result.complete, bool)
        assert len(result.members) < 1000


def test_real_initramfs_tools_image_of_this_host():
    """The initrd Debian's initramfs-tools built for the appliance kernel (set-up installs linux-image)."""
    images = sorted(Path("/boot").glob("initrd.img-*"))
    if not images:
        pytest.skip("no initramfs-tools image in /boot")
    with open(images[-1], "rb") as stream:
        result = list_initramfs(stream)
    version = images[-1].name.removeprefix("initrd.img-")
    assert result.complete
    assert result.compression and result.compression[-1] in ("zstd", "gzip", "xz", "lz4")
    assert any(m.startswith((f"usr/lib/modules/{version}/kernel/", f"lib/modules/{version}/kernel/")) and ".ko" in m
               for m in result.members)
