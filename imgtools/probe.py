"""Probe an image file without trusting it.

The probe decides what an image file is before anything else (qemu-img,
libguestfs) may open it.  It reads a bounded amount whatever the image size:

* the first :data:`HEAD_BYTES` (4 MiB): every supported format keeps its
  header there (VMDK's embedded descriptor may be 1 MiB long and starts at
  512; qemu puts the VHDX metadata region at 1-3 MiB; ISO's volume
  descriptor is at 32 KiB);
* the last :data:`TAIL_BYTES` (64 KiB): a fixed VHD's only footer is the last
  512 bytes, a streamOptimized VMDK ends with a footer and end-of-stream
  marker, a DMG with its ``koly`` trailer;
* at most :data:`EXTRA_BYTES` more, read at offsets a header names (a VHD's
  dynamic header and block table, a VHDX region beyond the head, a qcow2
  backing file name).  A header that needs more than that to be understood
  is itself the problem (``absurd-header``).

It starts no qemu and never opens another file: a backing file, data file or
extent is reported, not followed.  Detection builds on oslo.utils'
``format_inspector`` (what Glance, Nova and Cinder use since CVE-2024-32498);
each format's class below adds what it lacks: formats it calls raw
(parallels, bochs, cloop, dmg, fixed VHD, qcow v1), qemu's own header
validation, table sizes, subformats and encryption.

A bad image is data, never an exception: :func:`probe` returns an
:class:`~imgtools.facts.ImageFacts` with ``safe=False`` and one violation per
problem, each with an id from :data:`VIOLATIONS`.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import struct
import uuid
from dataclasses import dataclass, field
from typing import ClassVar

from .oslo import format_inspector as oslo

from .errors import ImageAccessError, UnsafeImageError
from .formats import FORMATS, get_format
from .imagefacts import ImageFacts, Violation

# oslo logs every failed check as a warning; our findings are data, the library never prints.
logging.getLogger(oslo.__name__).addHandler(logging.NullHandler())

HEAD_BYTES = 4 << 20
TAIL_BYTES = 64 << 10
EXTRA_BYTES = 32 << 20
#: Largest metadata table (L1, block allocation table, catalog…) we accept.
#: qemu reads such tables whole into memory; legitimate multi-TiB images need
#: a few MiB, a forged header can ask for gigabytes (CVE-2015-5162).
MAX_TABLE_BYTES = 32 << 20

#: The stable registry of violation ids: id -> what it means.
VIOLATIONS: dict[str, str] = {
    "backing-file": "the image names a backing or parent file (qcow2/qcow/QED backing file, "
    "VHD/VHDX/VDI differencing parent, VMDK parent): qemu would open another host file",
    "data-file": "a qcow2 external data file: the guest data lives in another host file",
    "unknown-feature": "qcow2 incompatible feature bits this tool does not know",
    "vmdk-extent": "a VMDK whose extents are other files (descriptor-only, monolithicFlat, "
    "split, patched descriptor) or a lone extent of such a VMDK",
    "qed": "a QED image: deprecated by qemu, may carry a backing file, no cloud imports it",
    "multiple-formats": "the file matches more than one format (a header hidden inside another)",
    "format-mismatch": "the declared format (--format-hint) differs from the detected one",
    "corrupt-header": "a header is truncated or fails a validation qemu applies "
    "(magic, version, checksum, offsets beyond the end of the file)",
    "absurd-header": "header fields would make qemu allocate absurd memory or do absurd work "
    "(huge tables, out-of-range cluster or block sizes)",
    "unsupported-format": "a format (or version of it) no public cloud imports",
}

_CHUNK = 64 << 10


# -- bounded reading --

class _BudgetExceeded(Exception):
    """A header asked us to read more than the probe's budget."""


class _Corrupt(Exception):
    """A header field is invalid; the message says which."""


class _Absurd(Exception):
    """A header field asks for absurd resources; the message says which."""


class _Reader:
    """Positional reads from an open file, counted against a budget."""

    def __init__(self, fd: int, size: int):
        self.fd = fd
        self.size = size
        self.extra_left = EXTRA_BYTES
        self.head = self._pread(0, min(size, HEAD_BYTES))
        tail_start = max(len(self.head), size - TAIL_BYTES)
        rest = self._pread(tail_start, size - tail_start)
        #: The last bytes of the file; ``tail`` always ends at ``size``.
        self.tail = (self.head + rest)[-TAIL_BYTES:] if tail_start == len(self.head) else rest

    def _pread(self, offset: int, length: int) -> bytes:
        chunks = []
        while length > 0:
            chunk = os.pread(self.fd, min(length, 1 << 20), offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
            length -= len(chunk)
        return b"".join(chunks)

    def at(self, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset`` (fewer at the end of the file); head and tail are free."""
        if offset < 0 or length < 0:
            raise _Corrupt(f"negative offset or length ({offset}, {length})")
        end = min(offset + length, self.size)
        if end <= len(self.head):
            return self.head[offset:end]
        tail_start = self.size - len(self.tail)
        if offset >= tail_start:
            return self.tail[offset - tail_start:end - tail_start]
        if end - offset > self.extra_left:
            raise _BudgetExceeded(f"{end - offset} bytes at offset {offset}")
        self.extra_left -= end - offset
        return self._pread(offset, end - offset)

    def exact(self, offset: int, length: int, what: str) -> bytes:
        data = self.at(offset, length)
        if len(data) < length:
            raise _Corrupt(f"{what} at offset {offset} is cut short by the end of the file (truncated image)")
        return data


def _unpack(fmt: str, data: bytes, offset: int, what: str) -> tuple:
    size = struct.calcsize(fmt)
    if len(data) < offset + size:
        raise _Corrupt(f"{what} is truncated ({len(data)} bytes, needs {offset + size})")
    return struct.unpack_from(fmt, data, offset)


# -- running oslo's inspectors on a bounded read --

def _pending(inspector: oslo.FileInspector) -> dict[str, oslo.CaptureRegion]:
    """The inspector's regions still waiting for data (end-of-file regions get the tail instead)."""
    regions = {name: inspector.region(name) for name in inspector.context_info}
    return {name: region for name, region in regions.items()
            if not isinstance(region, oslo.EndCaptureRegion) and not region.complete}


def _feed_at(inspector: oslo.FileInspector, offset: int, data: bytes) -> None:
    """Present ``data`` found at ``offset`` to every pending capture region (public API only).

    oslo's inspectors expect the whole stream; this is its ``eat_chunk`` with
    an explicit position, so we can skip the gigabytes in between.
    """
    waiting = _pending(inspector)
    for region in waiting.values():
        region.capture(data, offset + len(data))
    inspector.post_process()  # may add regions (VHDX: metadata, then the size item)
    added = {name: region for name, region in _pending(inspector).items() if name not in waiting}
    for region in added.values():
        region.capture(data, offset + len(data))
    for name, region in {**waiting, **added}.items():
        if region.complete:
            inspector.region_complete(name)


def _run_inspector(cls: type[oslo.FileInspector], reader: _Reader) -> oslo.FileInspector:
    """Run an oslo inspector over the head, the regions its headers point at, and the tail."""
    inspector = cls()
    for offset in range(0, len(reader.head), _CHUNK):
        inspector.eat_chunk(reader.head[offset:offset + _CHUNK])
    if reader.size > len(reader.head):
        for _ in range(8):  # regions may point to further regions (VHDX: region table -> metadata -> size)
            wanted = _pending(inspector).values()
            if not wanted:
                break
            for region in list(wanted):
                start = region.offset + len(region.data)
                data = reader.at(start, region.length - len(region.data))
                if data:
                    _feed_at(inspector, start, data)
        for name in inspector.context_info:
            region = inspector.region(name)
            if isinstance(region, oslo.EndCaptureRegion):
                region.capture(reader.tail, reader.size)
    inspector.finish()
    return inspector


# -- one class per format --

@dataclass
class _Result:
    """What a format's probe found."""

    virtual_size: int = 0
    subformat: str | None = None
    encryption: str | None = None
    violations: list[Violation] = field(default_factory=list)

    def add(self, vid: str, message: str) -> None:
        assert vid in VIOLATIONS, vid
        if not any(v.id == vid for v in self.violations):
            self.violations.append(Violation(id=vid, message=message))


class FormatProbe:
    """How to recognise one format and what to verify in its header."""

    #: qemu's driver name (a key of :data:`imgtools.formats.FORMATS`).
    name: ClassVar[str]
    #: oslo's inspector for the format, when it has one.
    inspector: ClassVar[type[oslo.FileInspector] | None] = None
    #: oslo safety check name -> our violation id (default ``corrupt-header``).
    check_ids: ClassVar[dict[str, str]] = {}
    #: The first sectors may be guest data, so a partition table there is expected.
    guest_data_at_start: ClassVar[bool] = False

    def claims(self, reader: _Reader) -> bool:
        """The file carries this format's signature."""
        raise NotImplementedError

    def describe(self, reader: _Reader, result: _Result) -> None:
        """Fill ``result`` from the header; raise _Corrupt/_Absurd/_BudgetExceeded to stop early."""

    def examine(self, reader: _Reader) -> _Result:
        """oslo's verdict plus ours; for the same violation id our (more precise) message wins."""
        result = _Result()
        oslo_findings = self._oslo_findings(reader) if self.inspector else []
        try:
            self.describe(reader, result)
        except _BudgetExceeded as exc:
            result.add("absurd-header", f"{self.name}: header points at more metadata than a sane image has ({exc})")
        except _Absurd as exc:
            result.add("absurd-header", f"{self.name}: {exc}")
        except (_Corrupt, struct.error, ValueError, IndexError, KeyError) as exc:
            result.add("corrupt-header", f"{self.name}: {exc}")
        for vid, message in oslo_findings:
            result.add(vid, message)
        return result

    def _oslo_findings(self, reader: _Reader) -> list[tuple[str, str]]:
        """oslo's inspector and safety checks, as (violation id, message) pairs."""
        try:
            inspector = _run_inspector(self.inspector, reader)
        except _BudgetExceeded as exc:
            return [("absurd-header", f"{self.name}: header points at more metadata than a sane image has ({exc})")]
        except Exception as exc:  # noqa: BLE001 - hostile input may trip any error in a third-party parser
            return [("corrupt-header", f"{self.name}: {exc} (oslo.utils format_inspector)")]
        if not inspector.complete or not inspector.format_match:
            return [("corrupt-header", f"{self.name}: header incomplete or inconsistent (truncated image?)")]
        try:
            inspector.safety_check()
        except oslo.SafetyCheckFailed as failed:
            return [(self.check_ids.get(check, "corrupt-header"), f"{self.name}: {exc} (oslo.utils check '{check}')")
                    for check, exc in failed.failures.items()]
        except Exception as exc:  # noqa: BLE001 - as above
            return [("corrupt-header", f"{self.name}: {exc} (oslo.utils format_inspector)")]
        return []


def _starts(reader: _Reader, magic: bytes) -> bool:
    return reader.head[:len(magic)] == magic


def _table(entries: int, entry_size: int, what: str) -> int:
    size = entries * entry_size
    if size > MAX_TABLE_BYTES:
        raise _Absurd(f"{what}: {size} bytes, more than the {MAX_TABLE_BYTES >> 20} MiB a sane image needs")
    return size


def _whole_sectors(size: int) -> int:
    """qemu shows a raw file (and a VDI) as whole 512-byte sectors, the last one zero-padded."""
    return -(-size // 512) * 512


def _c_string(data: bytes) -> bytes:
    return data.split(b"\0", 1)[0]


class _Qcow2Inspector(oslo.QcowInspector):
    """oslo's qcow2 inspector, knowing qemu 7.2's incompatible features (bit 4: extended L2)."""

    I_FEATURES_MAX_BIT = 5

    @property
    def format_match(self) -> bool:
        return super().format_match and self.qemu_header_info.get("version") in (2, 3)


class Qcow2(FormatProbe):
    name = "qcow2"
    inspector = _Qcow2Inspector
    check_ids = {"backing_file": "backing-file", "data_file": "data-file", "unknown_features": "unknown-feature"}
    INCOMPATIBLE = {0: "dirty", 1: "corrupt", 2: "external data file", 3: "compression type", 4: "extended L2"}
    EXT_DATA_FILE = 0x44415441
    EXT_CRYPTO = 0x0537BE77
    MAX_REFCOUNT_TABLE = 8 << 20

    def claims(self, reader):
        return _starts(reader, b"QFI\xfb") and reader.head[4:8] != b"\0\0\0\1"

    def examine(self, reader):
        version = _unpack(">I", reader.head, 4, "qcow2 header")[0] if len(reader.head) >= 8 else None
        if version not in (2, 3):
            result = _Result()
            result.add("corrupt-header", f"qcow2 header is truncated or has unknown version {version}")
            return result
        return super().examine(reader)

    def describe(self, reader, result):
        head = reader.head
        (_, version, bf_offset, bf_size, cluster_bits, size, crypt, l1_size, l1_offset,
         rt_offset, rt_clusters, nb_snapshots, snapshots_offset) = _unpack(">4sIQIIQIIQQIIQ", head, 0, "qcow2 header")
        result.virtual_size = size // 512 * 512  # qemu counts whole sectors
        result.subformat = {2: "0.10", 3: "1.1"}[version]
        if crypt > 2:
            raise _Corrupt(f"encryption method {crypt} is unknown")
        result.encryption = {0: None, 1: "aes", 2: "luks"}[crypt]
        incompatible, header_length = 0, 72
        if version == 3:
            incompatible, _, _, refcount_order, header_length = _unpack(">QQQII", head, 72, "qcow2 v3 header")
        extensions = self._features(reader, incompatible, header_length, cluster_bits, bf_offset, result)
        if incompatible & 2:
            raise _Corrupt("the image is marked corrupt by qemu (incompatible feature bit 'corrupt')")
        cluster = 1 << cluster_bits
        if version == 3:
            if header_length < 104 or header_length % 8 or header_length > cluster:
                raise _Corrupt(f"header length {header_length} is invalid")
            if refcount_order > 6:
                raise _Corrupt(f"refcount order {refcount_order} is out of range")
            compression = head[104] if header_length > 104 else 0
            if compression > 1 or bool(compression) != bool(incompatible & 8):
                raise _Corrupt(f"compression type {compression} is unknown or does not match the feature bit")
        needed_l1 = -(-size // (cluster * (cluster // 8)))
        _table(needed_l1, 8, f"L1 table needed for a virtual size of {size} bytes")
        _table(l1_size, 8, "L1 table")
        if l1_size < needed_l1:
            raise _Corrupt(f"L1 table has {l1_size} entries, the virtual size needs {needed_l1}")
        if rt_clusters * cluster > self.MAX_REFCOUNT_TABLE:
            raise _Absurd(f"refcount table of {rt_clusters * cluster} bytes exceeds qemu's 8 MiB")
        for what, offset in (("L1 table", l1_offset), ("refcount table", rt_offset)):
            if offset % cluster or offset >= reader.size:
                raise _Corrupt(f"{what} offset {offset} is unaligned or beyond the end of the file")
        if bf_offset:
            if bf_size > 1023:
                raise _Corrupt(f"backing file name of {bf_size} bytes is longer than qemu's 1023")
            name = reader.at(bf_offset, bf_size).decode("utf-8", "replace")
            kind = "a json: pseudo-protocol string" if name.startswith("json:") else "a path"
            result.add("backing-file", f"qcow2 backing file {name!r} ({kind}): qemu would open another file")
        self._snapshots(reader, nb_snapshots, snapshots_offset, cluster)
        self._luks(reader, crypt, extensions)

    def _features(self, reader, incompatible, header_length, cluster_bits, bf_offset, result) -> dict[int, bytes]:
        """Unknown feature bits and external data files, even when the rest of the header is bad.

        Returns the header extensions (type -> data).
        """
        unknown = [bit for bit in range(64) if incompatible >> bit & 1 and bit not in self.INCOMPATIBLE]
        if unknown:
            result.add("unknown-feature", f"qcow2 incompatible feature bits {unknown} are unknown")
        extensions, problem = {}, None
        if not 9 <= cluster_bits <= 21:
            problem = _Absurd(f"cluster_bits {cluster_bits} is outside qemu's 9..21")
        elif bf_offset > 1 << cluster_bits:
            problem = _Corrupt(f"backing file name offset {bf_offset} is beyond the header cluster")
        else:
            # Header extensions run from the header's end to the backing file name or the cluster's end.
            end = bf_offset or 1 << cluster_bits
            try:
                extensions = self._extensions(reader.at(0, end).ljust(end, b"\0"), header_length)
            except _Corrupt as exc:
                problem = exc
        if incompatible & 4 or self.EXT_DATA_FILE in extensions:
            name = extensions.get(self.EXT_DATA_FILE, b"(unnamed)").decode("utf-8", "replace")
            result.add("data-file", f"qcow2 external data file {name!r}: the guest data is in another host file")
        if problem:
            raise problem
        return extensions

    @staticmethod
    def _extensions(header: bytes, offset: int) -> dict[int, bytes]:
        """Walk the header extensions as qemu does."""
        found: dict[int, bytes] = {}
        while offset < len(header):
            if offset + 8 > len(header):
                raise _Corrupt("header extension too large")
            ext_type, length = struct.unpack_from(">II", header, offset)
            offset += 8
            if length > len(header) - offset:
                raise _Corrupt(f"header extension 0x{ext_type:08x} is too large")
            if ext_type == 0:
                break
            found.setdefault(ext_type, header[offset:offset + length])
            offset += (length + 7) // 8 * 8
        return found

    def _luks(self, reader, crypt, extensions):
        """A LUKS-encrypted qcow2 keeps a LUKS header where its crypto extension says."""
        crypto = extensions.get(self.EXT_CRYPTO)
        if crypto is None:
            if crypt == 2:
                raise _Corrupt("LUKS encryption without a crypto header extension")
            return
        if crypt != 2 or len(crypto) != 16:
            raise _Corrupt("crypto header extension is malformed or unexpected")
        (offset,) = struct.unpack_from(">Q", crypto)
        if reader.at(offset, 6) != b"LUKS\xba\xbe":
            raise _Corrupt("the LUKS header the crypto extension points at is missing")

    def _snapshots(self, reader, count, offset, cluster):
        """qemu reads the whole snapshot table when it opens the image."""
        if count > 65536:
            raise _Absurd(f"{count} snapshots exceeds qemu's limit of 65536")
        if offset % cluster or offset > 1 << 63:
            raise _Corrupt(f"snapshot table offset {offset} is invalid")
        for index in range(count):
            (l1_size, id_size, name_size, extra) = struct.unpack_from(
                ">8xIHH20xI", reader.exact(offset, 40, "snapshot table"))
            if extra > 1024:
                raise _Corrupt(f"snapshot {index} has {extra} bytes of extra data (qemu allows 1024)")
            _table(l1_size, 8, f"L1 table of snapshot {index}")
            offset = (offset + 40 + extra + id_size + name_size + 7) // 8 * 8


class Qcow(FormatProbe):
    """qcow v1: oslo treats it as a qcow2 of an unsupported version."""

    name = "qcow"

    def claims(self, reader):
        return _starts(reader, b"QFI\xfb\0\0\0\1")

    def describe(self, reader, result):
        _, _, bf_offset, bf_size, _, size, cluster_bits, l2_bits, _, crypt, l1_offset = _unpack(
            ">4sIQIIQBBHIQ", reader.head, 0, "qcow header")
        result.virtual_size = size // 512 * 512  # qemu counts whole sectors
        if crypt > 1:
            raise _Corrupt(f"encryption method {crypt} is unknown")
        result.encryption = {0: None, 1: "aes"}[crypt]
        if not 9 <= cluster_bits <= 16 or not 6 <= l2_bits <= 16:
            raise _Absurd(f"cluster_bits {cluster_bits} / l2_bits {l2_bits} outside qemu's ranges")
        l1_bytes = _table(-(-size // (1 << (cluster_bits + l2_bits))), 8, "L1 table")
        if l1_offset + l1_bytes > reader.size:
            raise _Corrupt("L1 table runs past the end of the file (truncated image)")
        if bf_offset:
            name = reader.at(bf_offset, min(bf_size, 1023)).decode("utf-8", "replace")
            result.add("backing-file", f"qcow backing file {name!r}: qemu would open another file")


class Qed(FormatProbe):
    name = "qed"
    inspector = oslo.QEDInspector
    check_ids = {"banned": "qed"}

    def claims(self, reader):
        return _starts(reader, b"QED\0")

    def describe(self, reader, result):
        _, _, _, _, features, _, _, _, size = _unpack("<IIIIQQQQQ", reader.head, 0, "QED header")
        result.virtual_size = size
        if size % 512:
            raise _Corrupt(f"image size {size} is not a whole number of sectors")
        result.add("qed", "QED image: deprecated by qemu and imported by no cloud; convert it with a trusted qemu")
        if features & 1:
            result.add("backing-file", "QED image has a backing file: qemu would open another file")


_EXTENT = re.compile(r'^(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\w+)(?:\s+"([^"]*)")?', re.IGNORECASE)


class Vmdk(FormatProbe):
    name = "vmdk"
    inspector = oslo.VMDKInspector
    check_ids = {"descriptor": "vmdk-extent"}
    MONOLITHIC = ("monolithicSparse", "streamOptimized")
    GD_AT_END = 0xFFFFFFFFFFFFFFFF
    FLAG_REDUNDANT_GD = 2

    def claims(self, reader):
        start = reader.head[:1024].lower()
        return _starts(reader, b"KDMV") or b"# disk descriptorfile" in start or b"createtype=" in start

    def examine(self, reader):
        if _starts(reader, b"KDMV") and reader.head[28:36] == bytes(8):  # descriptor offset 0
            # A sparse extent with no embedded descriptor: qemu opens it, oslo cannot.
            result = _Result()
            try:
                self._sparse(reader, result)
            except (_Corrupt, _Absurd) as exc:
                result.add("absurd-header" if isinstance(exc, _Absurd) else "corrupt-header", f"vmdk: {exc}")
            result.add("vmdk-extent", "a VMDK sparse extent without descriptor: a piece of a split VMDK; "
                       "probe the descriptor file (which is itself rejected: it names other files)")
            return result
        return super().examine(reader)

    def _sparse(self, reader, result) -> tuple[int, int]:
        (_, version, flags, capacity, grain, desc_sec, desc_num, gtes, rgd_offset, gd_offset, overhead) = _unpack(
            "<4sIIQQQQIQQQ", reader.head, 0, "VMDK sparse header")
        if version not in (1, 2, 3):
            raise _Corrupt(f"sparse header version {version} is unknown")
        result.virtual_size = capacity * 512
        if gtes > 512:
            raise _Absurd(f"{gtes} grain table entries per table exceeds qemu's 512")
        if grain == 0 or grain > 0x200000 or gtes == 0:
            raise _Absurd(f"grain of {grain} sectors with {gtes} entries per table is invalid")
        directory = _table(-(-capacity // (gtes * grain)), 4, "grain directory")
        directories = [gd_offset] if gd_offset != self.GD_AT_END else []
        if flags & self.FLAG_REDUNDANT_GD:
            directories.append(rgd_offset)
        if overhead * 512 > reader.size or any(d * 512 + directory > reader.size for d in directories):
            raise _Corrupt("grain directories or data start beyond the end of the file (truncated image)")
        return desc_sec, desc_num

    def describe(self, reader, result):
        if _starts(reader, b"KDMV"):
            desc_sec, desc_num = self._sparse(reader, result)
            text = _c_string(reader.exact(desc_sec * 512, min(desc_num * 512, (1 << 20) - 1), "descriptor"))
        else:
            text = reader.head[:(1 << 20) - 1]
        descriptor = text.decode("ascii", "replace")
        create_type = re.search(r'^\s*createType\s*=\s*"([^"]*)"', descriptor, re.MULTILINE | re.IGNORECASE)
        result.subformat = create_type.group(1) if create_type else None
        extents = [m.groups() for m in map(_EXTENT.match, descriptor.splitlines()) if m]
        names = [name for *_, name in extents if name is not None]
        if re.search(r"^\s*parentFileNameHint\s*=", descriptor, re.MULTILINE | re.IGNORECASE):
            result.add("backing-file", "VMDK descriptor names a parent disk (parentFileNameHint)")
        if not _starts(reader, b"KDMV"):
            result.virtual_size = sum(int(sectors) for _, sectors, _, _ in extents) * 512
            result.add("vmdk-extent", f"descriptor-only VMDK ({result.subformat}): its data is in other files "
                       f"{names}; qemu would open them")
            return
        plain = (len(extents) == 1 and extents[0][2].upper() == "SPARSE"
                 and all(not re.search(r"[/\\:]", name) for name in names))
        if result.virtual_size == 0 and extents:
            result.add("vmdk-extent", "VMDK sparse header with zero capacity: qemu would open the extents its "
                       f"embedded descriptor names: {names}")
        elif not extents:
            result.add("vmdk-extent", "VMDK embedded descriptor names no extent (a piece of a split VMDK?); "
                       "qemu cannot open it alone")
        elif result.subformat not in self.MONOLITHIC or not plain:
            lines = "; ".join(" ".join(filter(None, e)) for e in extents)
            result.add("vmdk-extent", f"VMDK embedded descriptor ({result.subformat}) names extents other than "
                       f"the file itself: {lines}")


class Vpc(FormatProbe):
    """VHD: validated as qemu's vpc driver does (oslo only reads the size)."""

    name = "vpc"
    # oslo's VHDInspector misses fixed VHDs (footer only at the end) and validates nothing.
    guest_data_at_start = True  # a fixed VHD is guest data followed by a footer
    MAX_SECTORS = 0xFF000000
    MAX_GEOMETRY = 65535 * 16 * 255
    SIZE_CREATORS = (b"win ", b"qem2", b"d2v ", b"CTXS", b"tap\0")

    def claims(self, reader):
        return _starts(reader, b"conectix") or reader.tail[-512:][:8] == b"conectix"

    def describe(self, reader, result):
        at_start = _starts(reader, b"conectix")
        footer = reader.head[:512] if at_start else reader.tail[-512:]
        (_, _, _, data_offset, _, creator, _, _, _, current_size, cyls, heads, secs, disk_type, checksum
         ) = _unpack(">8sIIQI4sIIQQHBBII", footer, 0, "VHD footer")
        if (~sum(footer[:64] + b"\0\0\0\0" + footer[68:]) & 0xFFFFFFFF) != checksum:
            raise _Corrupt("footer checksum is incorrect (qemu refuses the image)")
        result.subformat = {2: "fixed", 3: "dynamic", 4: "differencing"}.get(disk_type)
        if result.subformat is None:
            raise _Corrupt(f"disk type {disk_type} is unknown")
        if not at_start and disk_type != 2:
            # qemu reads the end-of-file footer only when the copy at offset 0 is missing, and then
            # accepts only a fixed disk.
            raise _Corrupt(f"{result.subformat} VHD whose footer copy at offset 0 is missing or damaged")
        sectors = cyls * heads * secs
        if creator in self.SIZE_CREATORS or sectors == self.MAX_GEOMETRY:
            sectors = current_size // 512
        result.virtual_size = sectors * 512
        if sectors > self.MAX_SECTORS:
            raise _Absurd(f"virtual size {sectors * 512} exceeds the VHD maximum of 2040 GiB")
        if disk_type == 4:
            result.add("backing-file", "differencing VHD: its data depends on a parent file qemu would open")
        if disk_type == 2:
            return
        dyn = reader.exact(data_offset, 1024, "dynamic disk header")
        magic, _, table_offset, _, max_entries, block_size = struct.unpack_from(">8sQQIII", dyn)
        if magic != b"cxsparse":
            raise _Corrupt("dynamic disk header magic is not 'cxsparse'")
        if block_size < 512 or block_size & (block_size - 1):
            raise _Corrupt(f"block size {block_size} is not a power of two of at least 512")
        if result.virtual_size // block_size > 0xFFFFFFFF:
            raise _Corrupt("too many blocks for the block size")
        if max_entries * block_size < result.virtual_size:
            raise _Corrupt(f"block table of {max_entries} entries is too small for the virtual size")
        bat = reader.exact(table_offset, _table(max_entries, 4, "block allocation table"), "block allocation table")
        bitmap = ((block_size // (8 * 512)) + 511) & ~511
        end = -(-(table_offset + max_entries * 4) // 512) * 512
        for (entry,) in struct.iter_unpack(">I", bat):
            if entry != 0xFFFFFFFF:
                end = max(end, 512 * entry + bitmap + block_size)
        if end > reader.size:
            raise _Corrupt("blocks point after the end of the file (truncated image)")


def _crc32c_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = crc >> 1 ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return tuple(table)


_CRC32C = _crc32c_table()


def _crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), VHDX's checksum; the stdlib only has CRC-32."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C[(crc ^ byte) & 0xFF] ^ crc >> 8
    return crc ^ 0xFFFFFFFF


def _checksum_ok(block: bytes) -> bool:
    """VHDX headers and region tables carry a CRC-32C of themselves at offset 4 (computed as zero)."""
    (stored,) = struct.unpack_from("<I", block, 4)
    return _crc32c(block[:4] + b"\0\0\0\0" + block[8:]) == stored


def _guid(data: bytes) -> str:
    return str(uuid.UUID(bytes_le=bytes(data[:16]))).upper()


class Vhdx(FormatProbe):
    """VHDX, validated as qemu's vhdx driver does when it opens an image."""

    name = "vhdx"
    inspector = oslo.VHDXInspector
    MAX_SIZE = 64 << 40
    MIB = 1 << 20
    BAT = "2DC27766-F623-4200-9D64-115E9BFD4A08"
    METADATA = "8B7CA206-4790-4B9A-B8FE-575F050F886E"
    FILE_PARAMETERS = "CAA16737-FA36-4D43-B3B6-33F0AA44E76B"
    VIRTUAL_DISK_SIZE = "2FA54224-CD1B-4876-B211-5DBED83BF4B8"
    PAGE83 = "BECA12AB-B2E6-4523-93EF-C309E000C746"
    LOGICAL_SECTOR = "8141BF1D-A96F-4709-BA47-F233A8FAAB5F"
    PHYSICAL_SECTOR = "CDA348C7-445D-4471-9CC9-E9885251C556"
    PARENT_LOCATOR = "A8D35F2D-B30B-454D-ABF7-D3D84834AB0C"
    REQUIRED_ITEMS = (FILE_PARAMETERS, VIRTUAL_DISK_SIZE, PAGE83, LOGICAL_SECTOR, PHYSICAL_SECTOR)

    def claims(self, reader):
        return _starts(reader, b"vhdxfile")

    def describe(self, reader, result):
        self._header(reader)
        regions = self._regions(reader)
        items = self._metadata(reader, regions[self.METADATA][0])
        if self.PARENT_LOCATOR in items:
            result.add("backing-file", "differencing VHDX: it has a parent locator qemu would follow")

        def item(guid: str, fmt: str) -> tuple:
            return struct.unpack(fmt, reader.exact(items[guid][0], struct.calcsize(fmt), f"metadata item {guid}"))

        block_size, flags = item(self.FILE_PARAMETERS, "<II")
        (size,) = item(self.VIRTUAL_DISK_SIZE, "<Q")
        (logical,) = item(self.LOGICAL_SECTOR, "<I")
        (physical,) = item(self.PHYSICAL_SECTOR, "<I")
        result.virtual_size = size // 512 * 512  # qemu counts whole sectors
        result.subformat = "fixed" if flags & 1 else "dynamic"
        if flags & 2:
            result.add("backing-file", "differencing VHDX: it has a parent qemu would open")
        if block_size < self.MIB or block_size > 256 * self.MIB or block_size & (block_size - 1):
            raise _Corrupt(f"block size {block_size} is not a power of two between 1 and 256 MiB")
        if logical not in (512, 4096) or physical not in (512, 4096):
            raise _Corrupt(f"sector sizes {logical}/{physical} are not 512 or 4096")
        if not 0 < size <= self.MAX_SIZE:
            raise _Absurd(f"virtual size {size} is outside VHDX's 1 B..64 TiB")
        self._bat(reader, regions[self.BAT], size, block_size, logical)

    def _header(self, reader) -> bytes:
        """The current header: the valid one of the two with the higher sequence number."""
        valid = []
        for offset in (64 << 10, 128 << 10):
            block = reader.at(offset, 4096)
            if len(block) == 4096 and block[:4] == b"head" and _checksum_ok(block):
                (sequence,) = struct.unpack_from("<Q", block, 8)
                (version,) = struct.unpack_from("<H", block, 66)
                if version == 1:
                    valid.append((sequence, block))
        if not valid:
            raise _Corrupt("neither header has a valid signature, checksum and version")
        return max(valid)[1]

    def _regions(self, reader) -> dict[str, tuple[int, int]]:
        table = reader.exact(192 << 10, 64 << 10, "region table")
        if table[:4] != b"regi" or not _checksum_ok(table):
            raise _Corrupt("region table signature or checksum is wrong")
        (count,) = struct.unpack_from("<I", table, 8)
        if count > 2047:
            raise _Corrupt(f"region table has {count} entries (at most 2047)")
        regions: dict[str, tuple[int, int]] = {}
        spans = [(0, self.MIB)]  # the header section
        for index in range(count):
            guid = _guid(table[16 + 32 * index:])
            offset, length, flags = struct.unpack_from("<QII", table, 32 + 32 * index)
            if guid not in (self.BAT, self.METADATA):
                if flags & 1:
                    raise _Corrupt(f"unknown required region {guid}")
                continue
            if offset % self.MIB or length % self.MIB or any(offset < e and offset + length > s for s, e in spans):
                raise _Corrupt(f"region {guid} at {offset}+{length} is misaligned or overlaps another")
            spans.append((offset, offset + length))
            regions[guid] = (offset, length)
        if set(regions) != {self.BAT, self.METADATA}:
            raise _Corrupt("the block allocation table or metadata region is missing")
        return regions

    def _metadata(self, reader, offset: int) -> dict[str, tuple[int, int]]:
        table = reader.exact(offset, 64 << 10, "metadata table")
        if table[:8] != b"metadata":
            raise _Corrupt("metadata table signature is wrong")
        (count,) = struct.unpack_from("<H", table, 10)
        if count > 2047:
            raise _Corrupt(f"metadata table has {count} entries (at most 2047)")
        items = {}
        for index in range(count):
            entry = table[32 + 32 * index:64 + 32 * index]
            item_offset, length, flags = struct.unpack_from("<III", entry, 16)
            guid = _guid(entry)
            if flags & 4 and guid not in self.REQUIRED_ITEMS + (self.PARENT_LOCATOR,):
                raise _Corrupt(f"unknown required metadata item {guid}")
            items[guid] = (offset + item_offset, length)
        missing = [guid for guid in self.REQUIRED_ITEMS if guid not in items]
        if missing:
            raise _Corrupt(f"metadata lacks required items {missing}")
        return items

    def _bat(self, reader, region: tuple[int, int], size: int, block_size: int, logical: int) -> None:
        """qemu reads the whole block allocation table and refuses blocks past the end of the file."""
        chunk_ratio = (1 << 23) * logical // block_size
        blocks = -(-size // block_size)
        entries = blocks + (blocks - 1) // chunk_ratio
        offset, length = region
        if entries * 8 > length:
            raise _Corrupt(f"block allocation table region of {length} bytes is too small for {entries} entries")
        bat = reader.exact(offset, _table(entries, 8, "block allocation table"), "block allocation table")
        for index, (entry,) in enumerate(struct.iter_unpack("<Q", bat)):
            present = entry & 7 in (6, 7) if index % (chunk_ratio + 1) != chunk_ratio else entry & 7 == 6
            if present and (entry >> 20 << 20) + block_size > reader.size:
                raise _Corrupt("blocks point after the end of the file (truncated image)")


class Vdi(FormatProbe):
    name = "vdi"
    inspector = oslo.VDIInspector
    BLOCK = 1 << 20

    def claims(self, reader):
        return reader.head[0x40:0x44] == b"\x7f\x10\xda\xbe"

    def describe(self, reader, result):
        version, _, image_type = _unpack("<III", reader.head, 0x44, "VDI header")
        (sector_size,) = _unpack("<I", reader.head, 360, "VDI header")
        bitmap_offset, data_offset = _unpack("<II", reader.head, 340, "VDI header")
        disk_size, block_size, block_extra, blocks, _ = _unpack("<QIIII", reader.head, 368, "VDI header")
        link_and_parent = reader.head[0x1a8:0x1c8]
        result.virtual_size = _whole_sectors(disk_size)
        result.subformat = {1: "dynamic", 2: "static"}.get(image_type, f"type {image_type}")
        if version != 0x00010001:
            raise _Corrupt(f"version 0x{version:08x} is not 1.1")
        if sector_size != 512 or block_size != self.BLOCK or block_extra:
            raise _Corrupt(f"sector size {sector_size} / block size {block_size} (+{block_extra}) "
                           "are not 512 / 1 MiB")
        if bitmap_offset % 512 or data_offset % 512:
            raise _Corrupt("block map or data offset is not sector aligned")
        _table(blocks, 4, "block map")
        if blocks * block_size < disk_size:
            raise _Corrupt(f"{blocks} blocks cannot hold {disk_size} bytes")
        if image_type == 4 or any(link_and_parent):
            result.add("backing-file", "differencing VDI: it depends on a parent image")


class Luks(FormatProbe):
    name = "luks"
    inspector = oslo.LUKSInspector
    check_ids = {"version": "unsupported-format"}

    def claims(self, reader):
        return _starts(reader, b"LUKS\xba\xbe")

    def describe(self, reader, result):
        result.encryption = "luks"
        (payload,) = _unpack(">I", reader.head, 104, "LUKS header")
        result.virtual_size = max(0, reader.size - payload * 512)


class Parallels(FormatProbe):
    name = "parallels"

    def claims(self, reader):
        return reader.head[:16] in (b"WithoutFreeSpace", b"WithouFreSpacExt")

    def describe(self, reader, result):
        version, _, _, tracks, bat_entries, nb_sectors = _unpack("<IIIIIQ", reader.head, 16, "parallels header")
        result.virtual_size = nb_sectors * 512
        if version != 2:
            raise _Corrupt(f"version {version} is not 2")
        if tracks == 0 or tracks > 0x7FFFFFFF // 512:
            raise _Absurd(f"cluster size of {tracks} sectors is invalid")
        _table(bat_entries, 4, "block allocation table")


class Bochs(FormatProbe):
    name = "bochs"

    def claims(self, reader):
        return reader.head[:32] == b"Bochs Virtual HD Image".ljust(32, b"\0")

    def describe(self, reader, result):
        kind, subtype, version, _, catalog, _, extent = _unpack("<16s16sIIIII", reader.head, 32, "bochs header")
        if _c_string(kind) != b"Redolog" or _c_string(subtype) != b"Growing" or version not in (0x10000, 0x20000):
            raise _Corrupt("not a growing redolog of version 1 or 2")
        (disk,) = _unpack("<Q", reader.head, 84 if version == 0x10000 else 88, "bochs header")
        result.virtual_size = disk // 512 * 512
        if catalog > 0x100000:
            raise _Absurd(f"catalog of {catalog} entries exceeds qemu's 1M")
        if extent < 512 or extent & (extent - 1) or extent > 0x800000:
            raise _Corrupt(f"extent size {extent} is invalid")
        if catalog < -(-(disk // 512) // (extent // 512)):
            raise _Corrupt("catalog is too small for the disk size")


class Cloop(FormatProbe):
    name = "cloop"
    MAGIC = b"#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n"

    def claims(self, reader):
        return _starts(reader, self.MAGIC)

    def describe(self, reader, result):
        block_size, n_blocks = _unpack(">II", reader.head, 128, "cloop header")
        result.virtual_size = block_size * n_blocks
        if block_size == 0 or block_size % 512 or block_size > 64 << 20:
            raise _Corrupt(f"block size {block_size} is invalid")
        offsets = reader.exact(136, _table(n_blocks + 1, 8, "offset table"), "offset table")
        values = [v for (v,) in struct.iter_unpack(">Q", offsets)]
        if any(b < a for a, b in zip(values, values[1:])):
            raise _Corrupt("block offsets are not increasing")


class Dmg(FormatProbe):
    name = "dmg"
    guest_data_at_start = True

    def claims(self, reader):
        return reader.size >= 512 and reader.tail[-512:][:4] == b"koly"

    def describe(self, reader, result):
        (sectors,) = _unpack(">Q", reader.tail[-512:], 492, "dmg trailer")
        result.virtual_size = sectors * 512


class Iso(FormatProbe):
    name = "iso"
    inspector = oslo.ISOInspector
    guest_data_at_start = True  # the system area holds a hybrid MBR/GPT on bootable ISOs

    def claims(self, reader):
        return reader.head[32769:32774] in (b"CD001", b"NSR02", b"NSR03")

    def describe(self, reader, result):
        # qemu reads an ISO as a raw disk: its guest-visible size is the file's.
        result.virtual_size = _whole_sectors(reader.size)


#: The registry, in the order a multi-format match names them.
PROBES: tuple[FormatProbe, ...] = (
    Qcow2(), Qcow(), Qed(), Vmdk(), Vhdx(), Vpc(), Vdi(), Luks(), Parallels(), Bochs(), Cloop(), Dmg(), Iso(),
)


def _partition_table(reader: _Reader) -> bool:
    """An MBR or protective MBR (oslo's "gpt" inspector) sits in the first sector."""
    try:
        inspector = _run_inspector(oslo.GPTInspector, reader)
    except oslo.ImageFormatError:
        return False
    return inspector.format_match


# -- public API --

def probe(path: str | os.PathLike, format_hint: str | None = None) -> ImageFacts:
    """Tell what the image at ``path`` is, reading a bounded amount and trusting nothing.

    Never raises for a bad image (violations are data, ``safe=False``);
    raises :class:`ImageAccessError` for a missing, unreadable or non-regular
    path and :class:`UsageError` for an unknown ``format_hint``.
    """
    hint = get_format(format_hint).name if format_hint else None
    path = os.fspath(path)
    fd = _open(path)
    try:
        file_size = os.fstat(fd).st_size
        reader = _Reader(fd, file_size)
        matched = [p for p in PROBES if p.claims(reader)]
        # The first match (registry order) is the format qemu would see; more than one is itself a violation.
        result = matched[0].examine(reader) if matched else _Result(virtual_size=_whole_sectors(file_size))
        matched_names = [p.name for p in matched]
        if matched and _partition_table(reader) and not all(p.guest_data_at_start for p in matched):
            matched_names.append("raw (partition table)")
    except OSError as exc:
        raise ImageAccessError(f"{path}: read error ({exc.strerror}); check the file and its storage") from None
    finally:
        os.close(fd)

    fmt = matched[0].name if matched else "raw"
    violations = list(result.violations)
    if len(matched_names) > 1:
        violations.append(Violation(id="multiple-formats", message=f"the file matches several formats: "
                                    f"{', '.join(matched_names)}; a header may be hidden inside another"))
    if hint and hint != fmt:
        violations.append(Violation(id="format-mismatch", message=f"declared format {hint} but the content is {fmt}"))
    if not FORMATS[fmt].importable:
        violations.append(Violation(id="unsupported-format", message=f"{FORMATS[fmt].title} ({fmt}) is a format "
                                    "no public cloud imports; convert it on a trusted host first"))
    return ImageFacts(
        path=path,
        format=fmt,
        subformat=result.subformat,
        virtual_size=result.virtual_size,
        file_size=file_size,
        encrypted=result.encryption is not None,
        encryption=result.encryption,
        format_hint=hint,
        detected_formats=[p.name for p in matched],
        safe=not violations,
        violations=violations,
    )


def _open(path: str) -> int:
    """Open read-only; only a regular file is an image (a FIFO or device could block or never end)."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise ImageAccessError(f"{path} is a directory; give the path of an image file")
        if not stat.S_ISREG(mode):
            raise ImageAccessError(f"{path} is not a regular file; give the path of an image file")
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ImageAccessError(f"{path}: no such file; check the path") from None
    except PermissionError:
        raise ImageAccessError(f"{path}: permission denied; run as a user who can read it") from None
    except OSError as exc:
        raise ImageAccessError(f"{path}: cannot read ({exc.strerror}); check the path") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ImageAccessError(f"{path} is not a regular file; give the path of an image file")
    return fd


def require_safe(image: ImageFacts) -> None:
    """Raise :class:`UnsafeImageError` naming the violations unless the probe found the image safe."""
    if image.safe:
        return
    ids = ", ".join(v.id for v in image.violations)
    first = image.violations[0].message if image.violations else "no reason recorded"
    raise UnsafeImageError(
        f"{image.path} is unsafe to open ({ids}): {first}; run 'imgtools probe' for every reason",
        probe_result=image,
    )
