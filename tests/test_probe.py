"""The probe on real images made with qemu-img, and on hostile ones made by header surgery."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import time
from pathlib import Path

import pytest

from imgtools import probe as probe_module
from imgtools.errors import ImageAccessError, UnsafeImageError, UsageError
from imgtools.formats import FORMATS
from imgtools.probe import HEAD_BYTES, TAIL_BYTES, VIOLATIONS, probe, require_safe
from tests import hostile
from tests.support import make_image, qemu_img, sha256

SECRET = ("--object", "secret,id=s0,data=pw")


def qemu_info(path: Path, fmt: str) -> dict:
    """``qemu-img info`` with the format forced (an ISO is a raw disk to qemu)."""
    return json.loads(qemu_img("info", "-f", "raw" if fmt == "iso" else fmt, "--output=json", str(path)))


def make_iso(path: Path) -> Path:
    content = path.with_suffix(".d")
    content.mkdir()
    (content / "hello.txt").write_text("hello\n")
    subprocess.run(["genisoimage", "-quiet", "-o", str(path), str(content)], check=True)
    return path


def create(path: Path, fmt: str, *options: str, size: str = "64M", extra: tuple[str, ...] = ()) -> Path:
    argv = ["create", "-q", "-f", fmt, *extra]
    if options:
        argv += ["-o", ",".join(options)]
    for attempt in range(5):
        try:
            qemu_img(*argv, str(path), size)
            return path
        except subprocess.CalledProcessError as exc:
            # qemu's PBKDF benchmark (LUKS key slots) fails at random on a busy machine.
            if "accurate CPU usage" not in exc.stderr or attempt == 4:
                raise


# name -> (qemu-img format, -o options, extra argv, expected subformat, safe)
BENIGN = {
    "raw": ("raw", (), (), None, True),
    "qcow2-0.10": ("qcow2", ("compat=0.10",), (), "0.10", True),
    "qcow2-1.1": ("qcow2", ("compat=1.1",), (), "1.1", True),
    "qcow2-extended-l2": ("qcow2", ("extended_l2=on",), (), "1.1", True),
    "qcow2-encrypted": ("qcow2", ("encrypt.format=luks", "encrypt.key-secret=s0", "encrypt.iter-time=10"), SECRET, "1.1", True),
    "qcow": ("qcow", (), (), None, True),
    "vmdk-monolithicSparse": ("vmdk", ("subformat=monolithicSparse",), (), "monolithicSparse", True),
    "vmdk-streamOptimized": ("vmdk", ("subformat=streamOptimized",), (), "streamOptimized", True),
    "vpc-dynamic": ("vpc", ("subformat=dynamic",), (), "dynamic", True),
    "vpc-fixed": ("vpc", ("subformat=fixed",), (), "fixed", True),
    "vpc-force-size": ("vpc", ("subformat=dynamic", "force_size=on"), (), "dynamic", True),
    "vhdx-dynamic": ("vhdx", ("subformat=dynamic",), (), "dynamic", True),
    "vhdx-fixed": ("vhdx", ("subformat=fixed",), (), "fixed", True),
    "vdi": ("vdi", (), (), "dynamic", True),
    "vdi-static": ("vdi", ("static=on",), (), "static", True),
    "qed": ("qed", (), (), None, False),
    "parallels": ("parallels", (), (), None, False),
    "luks": ("luks", ("key-secret=s0", "iter-time=10"), SECRET, None, False),
    "iso": ("iso", (), (), None, True),
}


@pytest.fixture(scope="module")
def benign(tmp_path_factory) -> dict[str, Path]:
    """One real image per format and subformat qemu-img (or genisoimage) writes here."""
    folder = tmp_path_factory.mktemp("benign")
    images = {}
    for name, (fmt, options, extra, _, _) in BENIGN.items():
        path = folder / f"{name}.img"
        images[name] = make_iso(path) if fmt == "iso" else create(path, fmt, *options, size="65M", extra=extra)
    return images


def scratch(benign: dict[str, Path], name: str, tmp_path: Path) -> Path:
    return hostile.copy(benign[name], tmp_path / f"{name}.img")


@pytest.mark.parametrize("name", BENIGN)
def test_benign_format_and_size_match_qemu_img(benign, name):
    fmt, _, _, subformat, safe = BENIGN[name]
    path = benign[name]
    before = sha256(path)
    facts = probe(path)
    info = qemu_info(path, fmt)
    assert facts.format == fmt
    assert facts.virtual_size == info["virtual-size"]
    assert facts.file_size == path.stat().st_size
    assert facts.subformat == subformat
    assert facts.safe is safe, facts.violations
    assert sha256(path) == before


@pytest.mark.parametrize("fmt, options", [
    ("qcow2", ()), ("vmdk", ("subformat=streamOptimized",)), ("vmdk", ("subformat=monolithicSparse",)),
    ("vpc", ("subformat=dynamic",)), ("vhdx", ()), ("vdi", ()), ("qcow", ()),
])
def test_images_holding_data_beyond_the_head(tmp_path, fmt, options):
    """Allocated blocks past the first 4 MiB: the footer/table checks must still pass, from the tail."""
    source = tmp_path / "data.raw"
    with open(source, "wb") as f:
        for offset in range(0, 24 << 20, 3 << 20):
            f.seek(offset)
            f.write(os.urandom(1 << 20))
        f.truncate(24 << 20)
    path = tmp_path / f"data.{fmt}"
    argv = ["convert", "-f", "raw", "-O", fmt, *(["-o", ",".join(options)] if options else []), str(source), str(path)]
    qemu_img(*argv)
    assert path.stat().st_size > HEAD_BYTES + TAIL_BYTES
    facts = probe(path)
    assert facts.safe, facts.violations
    assert (facts.format, facts.virtual_size) == (fmt, qemu_info(path, fmt)["virtual-size"])


@pytest.mark.parametrize("fmt", ["vhdx", "vpc"])
def test_truncated_image_with_data(tmp_path, fmt):
    """Blocks beyond the end of the file: qemu refuses to open these (not qcow2 or vmdk), and so does the probe."""
    source = tmp_path / "data.raw"
    with open(source, "wb") as f:
        f.write(os.urandom(12 << 20))
    path = tmp_path / f"data.{fmt}"
    qemu_img("convert", "-f", "raw", "-O", fmt, str(source), str(path))
    truncate(path, 6 << 20)
    assert "corrupt-header" in ids(path)
    assert subprocess.run(["qemu-img", "info", "-f", fmt, str(path)], capture_output=True).returncode != 0


def test_unsupported_and_deprecated_formats_are_named(benign):
    assert [v.id for v in probe(benign["parallels"]).violations] == ["unsupported-format"]
    assert [v.id for v in probe(benign["qed"]).violations] == ["qed"]
    luks = probe(benign["luks"])
    assert (luks.encrypted, luks.encryption, [v.id for v in luks.violations]) == (True, "luks", ["unsupported-format"])


def test_encrypted_qcow2_is_reported_not_rejected(benign):
    facts = probe(benign["qcow2-encrypted"])
    assert (facts.encrypted, facts.encryption, facts.safe) == (True, "luks", True)
    assert probe(benign["qcow2-1.1"]).encrypted is False


@pytest.mark.parametrize(
    "builder, fmt, qemu_reads_it",
    [
        (lambda p: hostile.bochs(p, 64 << 20), "bochs", True),
        (lambda p: hostile.cloop(p, 64 << 10, 16), "cloop", True),
        (lambda p: hostile.dmg(p, 8), "dmg", False),  # qemu needs a resource fork we do not forge
    ],
)
def test_formats_oslo_calls_raw_are_detected(tmp_path, builder, fmt, qemu_reads_it):
    path = builder(tmp_path / f"x.{fmt}")
    facts = probe(path)
    assert facts.format == fmt
    assert [v.id for v in facts.violations] == ["unsupported-format"]
    if qemu_reads_it:
        assert facts.virtual_size == qemu_info(path, fmt)["virtual-size"]


def test_fixed_vhd_is_not_raw(benign):
    """A fixed VHD's only footer is its last 512 bytes; qemu's own probe would call it raw."""
    facts = probe(benign["vpc-fixed"])
    assert (facts.format, facts.subformat, facts.detected_formats) == ("vpc", "fixed", ["vpc"])


# -- hostile images: each rejected with its own id --

def ids(path: Path, hint: str | None = None) -> set[str]:
    facts = probe(path, hint)
    assert facts.safe is False
    return {v.id for v in facts.violations}


def test_qcow2_backing_file_path(tmp_path):
    base = make_image(tmp_path / "base.qcow2", "qcow2")
    top = tmp_path / "top.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(top))
    facts = probe(top)
    assert {v.id for v in facts.violations} == {"backing-file"}
    assert str(base) in facts.violations[0].message


def test_qcow2_backing_file_json(benign, tmp_path):
    path = hostile.qcow2_backing(scratch(benign, "qcow2-1.1", tmp_path),
                                 'json:{"file":{"driver":"file","filename":"/etc/shadow"}}')
    facts = probe(path)
    assert {v.id for v in facts.violations} == {"backing-file"}
    assert "json:" in facts.violations[0].message


def test_qcow2_external_data_file_real(tmp_path):
    path = create(tmp_path / "d.qcow2", "qcow2", f"data_file={tmp_path / 'data.raw'}", "data_file_raw=on")
    assert ids(path) == {"data-file"}


def test_qcow2_data_file_bit_by_surgery(benign, tmp_path):
    path = hostile.qcow2_field(scratch(benign, "qcow2-1.1", tmp_path), 72, "Q", 1 << 2)
    assert ids(path) == {"data-file"}


def test_qcow2_data_file_extension_without_the_bit(tmp_path):
    path = create(tmp_path / "d.qcow2", "qcow2", f"data_file={tmp_path / 'data.raw'}")
    hostile.qcow2_field(path, 72, "Q", 0)
    facts = probe(path)
    assert {v.id for v in facts.violations} == {"data-file"}
    assert "data.raw" in facts.violations[0].message


def test_qcow2_unknown_incompatible_feature(benign, tmp_path):
    path = hostile.qcow2_field(scratch(benign, "qcow2-1.1", tmp_path), 72, "Q", 1 << 10)
    assert ids(path) == {"unknown-feature"}


@pytest.mark.parametrize("subformat", ["monolithicFlat", "twoGbMaxExtentSparse"])
def test_vmdk_with_other_files(tmp_path, subformat):
    path = create(tmp_path / f"{subformat}.vmdk", "vmdk", f"subformat={subformat}")
    facts = probe(path)
    assert (facts.format, facts.subformat) == ("vmdk", subformat)
    assert facts.virtual_size == qemu_info(path, "vmdk")["virtual-size"]
    assert {v.id for v in facts.violations} == {"vmdk-extent"}
    # a flat extent is plain raw data; a sparse extent probed alone is rejected
    for piece in tmp_path.glob(f"{subformat}-*.vmdk"):
        facts = probe(piece)
        if subformat == "monolithicFlat":
            assert (facts.format, facts.safe) == ("raw", True)
        else:
            assert (facts.format, {v.id for v in facts.violations}) == ("vmdk", {"vmdk-extent"})


def test_vmdk_descriptor_only_pointing_at_host_file(tmp_path):
    path = tmp_path / "evil.vmdk"
    path.write_text('# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n'
                    'createType="monolithicFlat"\nRW 2048 FLAT "/etc/passwd" 0\n')
    facts = probe(path)
    assert facts.format == "vmdk" and facts.virtual_size == 2048 * 512
    assert {v.id for v in facts.violations} == {"vmdk-extent"}
    assert "/etc/passwd" in facts.violations[0].message


def test_vmdk_embedded_descriptor_patched_elsewhere(benign, tmp_path):
    path = scratch(benign, "vmdk-monolithicSparse", tmp_path)
    extent = hostile.read(path, 512, 4096).split(b"\n")
    line = next(x for x in extent if x.startswith(b"RW "))
    hostile.vmdk_descriptor(path, line, b'RW 133120 FLAT "/dev/sda" 0')
    facts = probe(path)
    assert {v.id for v in facts.violations} == {"vmdk-extent"}
    assert "/dev/sda" in facts.violations[0].message


def test_vmdk_zero_capacity_header_defers_to_its_descriptor(benign, tmp_path):
    """Old qemu opened the embedded descriptor's extents when the sparse header's capacity is 0."""
    path = hostile.patch(scratch(benign, "vmdk-monolithicSparse", tmp_path), 12, struct.pack("<Q", 0))
    assert ids(path) == {"vmdk-extent"}


def test_qed_always_rejected(benign):
    assert ids(benign["qed"]) == {"qed"}


def test_qcow2_header_hidden_in_iso(benign, tmp_path):
    path = scratch(benign, "iso", tmp_path)
    hostile.patch(path, 0, hostile.read(benign["qcow2-1.1"], 0, 512))
    facts = probe(path)
    assert "multiple-formats" in {v.id for v in facts.violations}
    assert set(facts.detected_formats) == {"qcow2", "iso"}


def test_partition_table_planted_in_qcow2(benign, tmp_path):
    path = scratch(benign, "qcow2-1.1", tmp_path)
    entry = struct.pack("<B3BB3BII", 0x80, 0, 2, 0, 0x83, 0, 0, 0, 2048, 4096)
    hostile.patch(path, 446, entry)
    hostile.patch(path, 510, b"\x55\xaa")
    assert ids(path) == {"multiple-formats"}


def test_hybrid_iso_with_partition_table_is_fine(benign, tmp_path):
    path = scratch(benign, "iso", tmp_path)
    hostile.patch(path, 446, struct.pack("<B3BB3BII", 0x80, 0, 2, 0, 0x17, 0, 0, 0, 0, 700))
    hostile.patch(path, 510, b"\x55\xaa")
    assert probe(path).safe


@pytest.mark.parametrize("name, hint", [("raw", "qcow2"), ("qcow2-1.1", "raw"), ("vpc-fixed", "raw"),
                                        ("vmdk-streamOptimized", "vhd")])
def test_format_hint_disagreeing(benign, name, hint):
    assert ids(benign[name], hint) == {"format-mismatch"}


def test_format_hint_agreeing_and_aliases(benign):
    assert probe(benign["vpc-dynamic"], "vhd").safe
    assert probe(benign["vpc-dynamic"], "vhd").format_hint == "vpc"


def truncate(path: Path, size: int) -> Path:
    os.truncate(path, size)
    return path


CORRUPT = {
    "qcow2 truncated to 50 bytes": ("qcow2-1.1", lambda p: truncate(p, 50)),
    "qcow2 unknown version": ("qcow2-1.1", lambda p: hostile.qcow2_field(p, 4, "I", 7)),
    "qcow2 L1 table too small": ("qcow2-1.1", lambda p: hostile.qcow2_field(p, 36, "I", 0)),
    "qcow2 L1 table beyond end": ("qcow2-1.1", lambda p: hostile.qcow2_field(p, 40, "Q", 1 << 40)),
    "qcow2 marked corrupt": ("qcow2-1.1", lambda p: hostile.qcow2_field(p, 72, "Q", 2)),
    "vpc bad checksum": ("vpc-dynamic", lambda p: hostile.patch(p, 64, b"\0\0\0\0")),
    "vpc fixed bad checksum": ("vpc-fixed", lambda p: hostile.patch(p, -512 + 64, b"\0\0\0\0")),
    "vpc dynamic header magic": ("vpc-dynamic", lambda p: hostile.patch(p, 512, b"notspars")),
    "vpc block size": ("vpc-dynamic", lambda p: hostile.patch(p, 512 + 32, struct.pack(">I", 3000))),
    "vpc table too small": ("vpc-dynamic", lambda p: hostile.patch(p, 512 + 28, struct.pack(">I", 2))),
    "vpc truncated": ("vpc-dynamic", lambda p: truncate(p, 1024)),
    "vpc unknown disk type": ("vpc-fixed", lambda p: hostile.vpc_footer(p, 60, "I", 9)),
    "vhdx region table signature": ("vhdx-dynamic", lambda p: hostile.patch(p, 192 << 10, b"xxxx")),
    "vhdx truncated": ("vhdx-dynamic", lambda p: truncate(p, 200 << 10)),
    "vhdx both headers damaged": ("vhdx-dynamic", lambda p: hostile.patch(hostile.patch(p, 64 << 10, b"x"), 128 << 10, b"x")),
    "vhdx region checksum": ("vhdx-dynamic", lambda p: hostile.patch(p, (192 << 10) + 4, b"\0\0\0\0")),
    "vmdk sparse version": ("vmdk-monolithicSparse", lambda p: hostile.patch(p, 4, struct.pack("<I", 9))),
    "vdi version": ("vdi", lambda p: hostile.patch(p, 0x44, struct.pack("<I", 0x20000))),
    "vdi block size": ("vdi", lambda p: hostile.patch(p, 376, struct.pack("<I", 4096))),
    "luks2": ("luks", lambda p: hostile.patch(p, 6, struct.pack(">H", 2))),
    "parallels version": ("parallels", lambda p: hostile.patch(p, 16, struct.pack("<I", 9))),
}


@pytest.mark.parametrize("case", CORRUPT)
def test_corrupt_or_truncated_headers(benign, tmp_path, case):
    name, damage = CORRUPT[case]
    path = damage(scratch(benign, name, tmp_path))
    found = ids(path)
    expected = "unsupported-format" if case == "luks2" else "corrupt-header"
    assert expected in found
    assert found <= {expected, "unsupported-format"}


def test_qemu_agrees_the_corrupt_vhd_is_corrupt(benign, tmp_path):
    path = hostile.patch(scratch(benign, "vpc-dynamic", tmp_path), 64, b"\0\0\0\0")
    result = subprocess.run(["qemu-img", "info", "-f", "vpc", str(path)], capture_output=True, text=True)
    assert result.returncode != 0 and "checksum" in result.stderr


ABSURD = {
    "qcow2 huge L1": ("qcow2-1.1", lambda p: hostile.qcow2_field(p, 36, "I", 0x10000000)),
    "qcow2 huge size": ("qcow2-1.1", lambda p: hostile.qcow2_field(p, 24, "Q", 1 << 62)),
    "qcow2 cluster_bits 30": ("qcow2-1.1", lambda p: hostile.qcow2_field(p, 20, "I", 30)),
    "qcow2 cluster_bits 2": ("qcow2-1.1", lambda p: hostile.qcow2_field(p, 20, "I", 2)),
    "qcow2 huge refcount table": ("qcow2-1.1", lambda p: hostile.qcow2_field(p, 56, "I", 0x100000)),
    "qcow2 snapshots": ("qcow2-1.1", lambda p: hostile.qcow2_field(p, 60, "I", 1 << 20)),
    "vmdk grain table entries": ("vmdk-monolithicSparse", lambda p: hostile.patch(p, 44, struct.pack("<I", 1 << 20))),
    "vmdk tiny grains, huge disk": ("vmdk-monolithicSparse",
                                    lambda p: hostile.patch(p, 12, struct.pack("<QQ", 1 << 50, 1))),
    "vmdk huge grain": ("vmdk-monolithicSparse", lambda p: hostile.patch(p, 20, struct.pack("<Q", 1 << 30))),
    "vhdx huge size": ("vhdx-dynamic", lambda p: hostile.patch(
        p, hostile.vhdx_metadata_item(p, hostile.VHDX_VIRTUAL_DISK_SIZE), struct.pack("<Q", 1 << 60))),
    "vpc huge block table": ("vpc-dynamic", lambda p: hostile.patch(p, 512 + 28, struct.pack(">I", 0x7FFFFFFF))),
    "vpc beyond 2040 GiB": ("vpc-force-size", lambda p: hostile.vpc_footer(p, 48, "Q", 1 << 50)),
    "vdi huge block map": ("vdi", lambda p: hostile.patch(p, 384, struct.pack("<I", 0x3FFFFFFF))),
    "parallels huge BAT": ("parallels", lambda p: hostile.patch(p, 32, struct.pack("<I", 0x7FFFFFFF))),
}


@pytest.mark.parametrize("case", ABSURD)
def test_headers_asking_for_absurd_resources(benign, tmp_path, case):
    name, damage = ABSURD[case]
    found = ids(damage(scratch(benign, name, tmp_path)))
    assert "absurd-header" in found
    assert found <= {"absurd-header", "unsupported-format"}


@pytest.mark.parametrize("builder", [
    lambda p: hostile.bochs(p, 1 << 40, extent=512, catalog=0x7FFFFFFF),
    lambda p: hostile.cloop(p, 64 << 10, 0x7FFFFFFF),
])
def test_absurd_headers_of_formats_oslo_lacks(tmp_path, builder):
    assert ids(builder(tmp_path / "x")) == {"absurd-header", "unsupported-format"}


def test_other_formats_backing_files(tmp_path):
    base = make_image(tmp_path / "base.raw", "raw", "1M")
    qed = tmp_path / "top.qed"
    qemu_img("create", "-q", "-f", "qed", "-b", str(base), "-F", "raw", str(qed))
    assert ids(qed) == {"qed", "backing-file"}
    qcow = tmp_path / "top.qcow"
    qemu_img("create", "-q", "-f", "qcow", "-b", str(base), "-F", "raw", str(qcow))
    assert ids(qcow) == {"backing-file"}


def test_vmdk_delta_disk_names_its_parent(benign, tmp_path):
    path = scratch(benign, "vmdk-monolithicSparse", tmp_path)
    hostile.vmdk_descriptor(path, b'ddb.virtualHWVersion = "4"', b'parentFileNameHint="/x"')
    assert ids(path) == {"backing-file"}


def test_vdi_differencing_is_a_backing_file(benign, tmp_path):
    path = hostile.patch(scratch(benign, "vdi", tmp_path), 0x1A8, b"\x11" * 16)  # uuid_link
    assert ids(path) == {"backing-file"}


def test_vhd_differencing_is_a_backing_file(benign, tmp_path):
    path = hostile.vpc_footer(scratch(benign, "vpc-dynamic", tmp_path), 60, "I", 4)
    assert "backing-file" in ids(path)


# -- reading and access --

HUGE = {  # format -> (-o options, size): sparse files a probe must not read through
    "raw": ((), "100G"),
    "qcow2": ((), "100G"),
    "vpc": (("force_size=on",), "1T"),  # a dynamic VHD's block table is read whole: 2 MiB here
    "vhdx": ((), "10T"),
}


@pytest.mark.parametrize("fmt", HUGE)
def test_huge_sparse_image_reads_a_bounded_amount(tmp_path, monkeypatch, fmt):
    options, size = HUGE[fmt]
    path = create(tmp_path / f"huge.{fmt}", fmt, *options, size=size)
    real_pread = os.pread
    read = []

    def counting_pread(fd, n, offset):
        data = real_pread(fd, n, offset)
        read.append(len(data))
        return data

    monkeypatch.setattr(probe_module.os, "pread", counting_pread)
    started = time.monotonic()
    facts = probe(path)
    assert time.monotonic() - started < 5
    assert facts.safe and facts.virtual_size == qemu_info(path, fmt)["virtual-size"]
    assert sum(read) <= HEAD_BYTES + TAIL_BYTES + (4 << 20)


def test_missing_unreadable_and_odd_paths(tmp_path):
    with pytest.raises(ImageAccessError, match="no such file"):
        probe(tmp_path / "absent.img")
    with pytest.raises(ImageAccessError, match="directory"):
        probe(tmp_path)
    with pytest.raises(ImageAccessError, match="not a regular file"):
        probe("/dev/null")


def test_unknown_hint_is_a_usage_error(benign):
    with pytest.raises(UsageError):
        probe(benign["raw"], "floppy")


def test_empty_file_is_an_empty_raw_disk(tmp_path):
    path = tmp_path / "empty.img"
    path.touch()
    facts = probe(path)
    assert (facts.format, facts.virtual_size, facts.safe) == ("raw", 0, True)


def test_require_safe(benign):
    require_safe(probe(benign["raw"]))
    facts = probe(benign["qed"])
    with pytest.raises(UnsafeImageError, match="qed") as raised:
        require_safe(facts)
    assert raised.value.probe_result is facts
    assert "\n" not in str(raised.value)


def test_violation_registry_is_stable():
    assert {"backing-file", "data-file", "unknown-feature", "vmdk-extent", "qed", "multiple-formats",
            "format-mismatch", "corrupt-header", "absurd-header", "unsupported-format"} <= set(VIOLATIONS)
    assert all(text and "\n" not in text for text in VIOLATIONS.values())


@pytest.mark.parametrize("name", [n for n in BENIGN if n not in ("raw", "iso")])
def test_random_header_damage(benign, tmp_path, name):
    """Violations are data: whatever a header holds, probe returns facts, and when it calls
    the image safe, qemu-img opens it and sees the same virtual size (qemu validates no less)."""
    import random

    rng = random.Random(name)
    original = hostile.read(benign[name], 0, 4096)
    path = scratch(benign, name, tmp_path)
    for _ in range(30):
        damaged = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            damaged[rng.randrange(0, 512 if rng.random() < 0.8 else len(damaged))] = rng.randrange(256)
        hostile.patch(path, 0, bytes(damaged))
        facts = probe(path)
        assert facts.format in FORMATS
        if facts.safe:
            assert facts.virtual_size == qemu_info(path, facts.format)["virtual-size"], bytes(damaged[:128]).hex()
