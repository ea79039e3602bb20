"""Header surgery for probe tests: hand-made and patched image headers, built with ``struct``.

Each helper writes a real file; the probe must recognise the format or reject
the patch.  Offsets follow the format specifications (and qemu's block drivers).
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path


def patch(path: Path, offset: int, data: bytes) -> Path:
    """Overwrite ``data`` at ``offset`` in place (``offset`` < 0 counts from the end)."""
    with open(path, "r+b") as f:
        f.seek(offset, 0 if offset >= 0 else 2)
        f.write(data)
    return path


def copy(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst


def read(path: Path, offset: int, length: int) -> bytes:
    with open(path, "rb") as f:
        f.seek(offset, 0 if offset >= 0 else 2)
        return f.read(length)


def qcow2_field(path: Path, offset: int, fmt: str, value: int) -> Path:
    """Set one big-endian qcow2 header field."""
    return patch(path, offset, struct.pack(">" + fmt, value))


def qcow2_backing(path: Path, name: str, at: int = 0x400) -> Path:
    """Make a qcow2 name a backing file: the name at ``at`` (inside the header cluster)."""
    patch(path, at, name.encode())
    qcow2_field(path, 8, "Q", at)
    return qcow2_field(path, 16, "I", len(name.encode()))


def vpc_footer(path: Path, offset: int, fmt: str, value: int) -> Path:
    """Set a field in a VHD's footer(s) and fix their checksum, as a forger would."""
    with open(path, "rb") as f:
        head = f.read(8)
    places = [-512] + ([0] if head == b"conectix" else [])
    for place in places:
        footer = bytearray(read(path, place, 512))
        struct.pack_into(">" + fmt, footer, offset, value)
        footer[64:68] = b"\0\0\0\0"
        footer[64:68] = struct.pack(">I", ~sum(footer) & 0xFFFFFFFF)
        patch(path, place, bytes(footer))
    return path


def vmdk_descriptor(path: Path, old: bytes, new: bytes) -> Path:
    """Replace text in a sparse VMDK's embedded descriptor, keeping its length."""
    data = read(path, 512, 1 << 16)
    where = data.index(old)
    assert len(new) <= len(old)
    return patch(path, 512 + where, new.ljust(len(old)))


def vhdx_metadata_item(path: Path, guid: str) -> int:
    """File offset of a VHDX metadata item (found through the region table)."""
    def guid_bytes(text: str) -> bytes:
        a, b, c, d, e = text.split("-")
        return struct.pack("<IHH", int(a, 16), int(b, 16), int(c, 16)) + bytes.fromhex(d + e)

    regions = read(path, 192 << 10, 64 << 10)
    (count,) = struct.unpack_from("<I", regions, 8)
    for i in range(count):
        entry = regions[16 + 32 * i:48 + 32 * i]
        if entry[:16] == guid_bytes("8B7CA206-4790-4B9A-B8FE-575F050F886E"):
            (meta,) = struct.unpack_from("<Q", entry, 16)
            table = read(path, meta, 64 << 10)
            (items,) = struct.unpack_from("<H", table, 10)
            for j in range(items):
                item = table[32 + 32 * j:64 + 32 * j]
                if item[:16] == guid_bytes(guid):
                    return meta + struct.unpack_from("<I", item, 16)[0]
    raise AssertionError(f"no metadata item {guid}")


VHDX_VIRTUAL_DISK_SIZE = "2FA54224-CD1B-4876-B211-5DBED83BF4B8"


def bochs(path: Path, size: int, extent: int = 1 << 20, catalog: int | None = None) -> Path:
    """A growing Bochs redolog (v2) with an empty catalog."""
    catalog = -(-size // extent) if catalog is None else catalog
    header = struct.pack(
        "<32s16s16sIIIIIIQ", b"Bochs Virtual HD Image", b"Redolog", b"Growing",
        0x20000, 512, catalog, 512, extent, 0, size,
    ).ljust(512, b"\0")
    path.write_bytes(header + b"\xff\xff\xff\xff" * min(catalog, 1 << 16))
    return path


CLOOP_MAGIC = b"#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n"


def cloop(path: Path, block_size: int = 64 << 10, blocks: int = 16) -> Path:
    """A cloop v2 image whose blocks are all empty (offsets equal)."""
    data_start = 136 + (blocks + 1) * 8
    offsets = struct.pack(f">{blocks + 1}Q", *([data_start] * (blocks + 1))) if blocks < 1 << 16 else b""
    path.write_bytes(CLOOP_MAGIC.ljust(128, b"\0") + struct.pack(">II", block_size, blocks) + offsets)
    return path


def dmg(path: Path, sectors: int, data: bytes = b"\0" * 4096) -> Path:
    """Data followed by a UDIF ``koly`` trailer (no resource fork: qemu cannot read it)."""
    koly = bytearray(512)
    struct.pack_into(">4sII", koly, 0, b"koly", 4, 512)
    struct.pack_into(">Q", koly, 492, sectors)
    path.write_bytes(data + bytes(koly))
    return path
