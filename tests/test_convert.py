"""imgtools.convert and ``imgtools convert``, on real images made with qemu-img."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imgtools import convert as conv
from imgtools import qemu
from imgtools.errors import NoSpaceError, ToolFailedError, UsageError, VerificationError
from imgtools.formats import get_format, writable_formats
from tests.support import qemu_img, sha256

MiB = 1 << 20
#: Where built test images are kept between runs (git-ignored).
FIXTURE_CACHE = Path(os.environ.get("IMGTOOLS_FIXTURE_CACHE") or Path(__file__).resolve().parent.parent / ".cache" / "fixtures")
TARGETS = writable_formats()
#: Data (offset, length) in the 32 MiB pattern; everything else is a hole.
EXTENTS = [(0, 64 << 10), (3 * MiB + 512, 4096), (17 * MiB, 2 * MiB), (32 * MiB - 8192, 8192)]


def write_pattern(path: Path, size: int, extents: list[tuple[int, int]], seed: int = 1) -> Path:
    """A sparse raw file: seeded random bytes at ``extents``, holes elsewhere."""
    rng = random.Random(seed)
    with open(path, "wb") as f:
        f.truncate(size)
        for offset, length in extents:
            f.seek(offset)
            f.write(rng.randbytes(length))
    return path


def make_source(folder: Path, fmt: str, pattern: Path, subformat: str | None = None) -> Path:
    """``pattern`` converted to ``fmt`` by bare qemu-img, with the registry's options."""
    path = folder / f"source-{fmt}-{subformat or 'default'}.{get_format(fmt).extension}"
    options = [f"{k}={v}" for k, v in get_format(fmt).create_options(subformat).items()]
    qemu_img("convert", "-f", "raw", "-O", fmt, *(["-o", ",".join(options)] if options else []), str(pattern), str(path))
    return path


def info(path: Path, fmt: str) -> dict:
    return json.loads(qemu_img("info", "-f", fmt, "--output=json", str(path)))


def compare(a: Path, a_fmt: str, b: Path, b_fmt: str) -> int:
    return subprocess.run(["qemu-img", "compare", "-q", "-f", a_fmt, "-F", b_fmt, str(a), str(b)]).returncode


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(conv.PARTIAL_SUFFIX))


def imgtools(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imgtools.cli.main", *args], capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def pattern(tmp_path_factory) -> Path:
    return write_pattern(tmp_path_factory.mktemp("pattern") / "pattern.raw", 32 * MiB, EXTENTS)


@pytest.fixture(scope="module")
def sources(pattern, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sources")
    return {fmt: make_source(folder, fmt, pattern) for fmt in TARGETS}


# -- units --

@pytest.mark.parametrize(
    "text, expected",
    [("4096", 4096), ("512K", 512 << 10), ("1MiB", MiB), ("1m", MiB), ("1G", 1 << 30), ("2 GiB", 2 << 30),
     ("1.5M", 3 << 19), ("1MB", 10**6)],
)
def test_parse_size_reads_units_as_profiles_do(text, expected):
    assert conv.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "M", "10X", "-1M"])
def test_parse_size_refuses_garbage(text):
    with pytest.raises(UsageError, match="cannot read size"):
        conv.parse_size(text)


def test_aligned_size_rounds_up_only_when_needed():
    assert conv.aligned_size(32 * MiB, "1MiB") == 32 * MiB
    assert conv.aligned_size(32 * MiB + 512, "1MiB") == 33 * MiB
    assert conv.aligned_size(1000 * 512, None) == 1000 * 512
    with pytest.raises(UsageError, match="multiple of 512"):
        conv.aligned_size(MiB, "1000")


# -- every pair of formats --

@pytest.mark.parametrize("dst_fmt", TARGETS)
@pytest.mark.parametrize("src_fmt", TARGETS)
def test_every_pair_converts_to_identical_content(src_fmt, dst_fmt, sources, pattern, tmp_path):
    src = sources[src_fmt]
    before = sha256(src)
    dst = tmp_path / f"out.{get_format(dst_fmt).extension}"
    phases: list[tuple[float, str]] = []
    result = conv.convert(src, dst, dst_fmt, on_progress=lambda pct, phase: phases.append((pct, phase)))

    assert result.verified and result.format == dst_fmt and result.source.format == src_fmt
    assert compare(pattern, "raw", dst, dst_fmt) == 0
    out = info(dst, dst_fmt)
    assert out["format"] == dst_fmt
    assert out["virtual-size"] == result.virtual_size == 32 * MiB
    if dst_fmt == "vmdk":
        assert out["format-specific"]["data"]["create-type"] == "streamOptimized"
    if dst_fmt == "qcow2":
        assert out["format-specific"]["data"]["compat"] == "1.1"
    assert result.file_size == dst.stat().st_size
    assert {phase for _, phase in phases} == {"convert", "verify"}
    assert phases[-1] == (100.0, "verify")
    assert sha256(src) == before
    assert leftovers(tmp_path) == []


def _vpc_disk_type(path: Path) -> int:
    with open(path, "rb") as f:
        f.seek(-512, os.SEEK_END)
        footer = f.read(512)
    assert footer[:8] == b"conectix"
    return struct.unpack(">I", footer[60:64])[0]  # 2 fixed, 3 dynamic


def _vdi_image_type(path: Path) -> int:
    with open(path, "rb") as f:
        f.seek(0x4C)
        return struct.unpack("<I", f.read(4))[0]  # 1 dynamic, 2 static


@pytest.mark.parametrize(
    "fmt, subformat, shows",
    [
        ("vmdk", "monolithicSparse", lambda p, i: i["format-specific"]["data"]["create-type"] == "monolithicSparse"),
        ("vpc", "fixed", lambda p, i: _vpc_disk_type(p) == 2 and p.stat().st_size == i["virtual-size"] + 512),
        ("vpc", "dynamic", lambda p, i: _vpc_disk_type(p) == 3),
        ("vhdx", "fixed", lambda p, i: p.stat().st_size >= i["virtual-size"]),
        ("vdi", "static", lambda p, i: _vdi_image_type(p) == 2),
        ("vdi", "dynamic", lambda p, i: _vdi_image_type(p) == 1),
    ],
)
def test_subformats_are_written_as_asked(fmt, subformat, shows, sources, pattern, tmp_path):
    dst = tmp_path / "out"
    result = conv.convert(sources["qcow2"], dst, fmt, subformat=subformat)
    assert result.subformat == subformat
    assert compare(pattern, "raw", dst, fmt) == 0
    assert shows(dst, info(dst, fmt))


@pytest.mark.parametrize("fmt, subformat", [("vpc", "fixed"), ("vhdx", "fixed"), ("vdi", "static"), ("vmdk", "monolithicSparse")])
def test_other_subformats_as_sources(fmt, subformat, pattern, tmp_path):
    src = make_source(tmp_path, fmt, pattern, subformat)
    before = sha256(src)
    result = conv.convert(src, tmp_path / "out.qcow2", "qcow2")
    assert result.source.format == fmt and result.verified
    assert compare(pattern, "raw", tmp_path / "out.qcow2", "qcow2") == 0
    assert sha256(src) == before


def test_iso_source_is_read_as_raw(tmp_path):
    """qemu has no iso driver; the probed ISO converts through the raw driver, byte for byte."""
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "hello.txt").write_text("hello from an ISO\n")
    iso = tmp_path / "disk.iso"
    subprocess.run(["genisoimage", "-quiet", "-o", str(iso), "-V", "IMGTOOLS", str(tree)], check=True)
    result = conv.convert(iso, tmp_path / "out.qcow2", "qcow2")
    assert result.source.format == "iso" and result.verified
    assert compare(iso, "raw", tmp_path / "out.qcow2", "qcow2") == 0


def test_unknown_subformat_is_a_usage_error(sources, tmp_path):
    with pytest.raises(UsageError, match="no subformat 'sparse'"):
        conv.convert(sources["raw"], tmp_path / "out", "vpc", subformat="sparse")
    assert list(tmp_path.iterdir()) == []


def test_qcow2_compressed_is_smaller_and_identical(tmp_path):
    source = tmp_path / "text.raw"
    source.write_bytes(b"imgtools compresses this line well\n" * 200_000)
    result = conv.convert(source, tmp_path / "out.qcow2", "qcow2", compress=True)
    assert result.compressed
    assert compare(source, "raw", tmp_path / "out.qcow2", "qcow2") == 0
    assert result.file_size < source.stat().st_size // 10


def test_compress_refused_where_qemu_cannot(sources, tmp_path):
    with pytest.raises(UsageError, match="vhdx cannot be compressed"):
        conv.convert(sources["raw"], tmp_path / "out", "vhdx", compress=True)


def test_fixed_vhd_aligned_to_1mib(tmp_path):
    odd = write_pattern(tmp_path / "odd.raw", 32 * MiB + 64 * 1024, [(0, 4096), (32 * MiB + 60 * 1024, 4096)])
    dst = tmp_path / "out.vhd"
    result = conv.convert(odd, dst, "vpc", subformat="fixed", align="1MiB")
    out = info(dst, "vpc")
    assert out["virtual-size"] == result.virtual_size == 33 * MiB
    assert out["virtual-size"] % MiB == 0
    assert _vpc_disk_type(dst) == 2
    assert compare(odd, "raw", dst, "vpc") == 0  # the padded tail reads as zeroes
    assert result.required_space >= 33 * MiB


@pytest.mark.parametrize("fmt, subformat", [(fmt, None) for fmt in TARGETS if fmt != "vmdk"] + [("vmdk", "monolithicSparse")])
def test_align_pads_every_target(fmt, subformat, tmp_path):
    odd = write_pattern(tmp_path / "odd.raw", 3 * MiB + 512, [(0, 4096), (3 * MiB - 3584, 4096)])
    result = conv.convert(odd, tmp_path / "out", fmt, subformat=subformat, align="1M")
    assert info(tmp_path / "out", fmt)["virtual-size"] == result.virtual_size == 4 * MiB
    assert compare(odd, "raw", tmp_path / "out", fmt) == 0


def test_align_refused_for_stream_optimized_vmdk_only_when_padding(tmp_path):
    odd = write_pattern(tmp_path / "odd.raw", 3 * MiB + 512, [(0, 4096)])
    with pytest.raises(UsageError, match="streamOptimized is written in one pass"):
        conv.convert(odd, tmp_path / "out.vmdk", "vmdk", align="1MiB")
    assert list(tmp_path.iterdir()) == [odd]
    even = write_pattern(tmp_path / "even.raw", 3 * MiB, [(0, 4096)])
    assert conv.convert(even, tmp_path / "out.vmdk", "vmdk", align="1MiB").virtual_size == 3 * MiB


# -- destination rules --

def test_existing_destination_is_refused_unless_overwrite(sources, pattern, tmp_path):
    dst = tmp_path / "out.qcow2"
    dst.write_bytes(b"precious")
    with pytest.raises(UsageError, match="already exists.*--overwrite"):
        conv.convert(sources["raw"], dst, "qcow2")
    assert dst.read_bytes() == b"precious"
    conv.convert(sources["raw"], dst, "qcow2", overwrite=True)
    assert compare(pattern, "raw", dst, "qcow2") == 0


def test_source_is_never_the_destination(sources, tmp_path):
    link = tmp_path / "same.raw"
    os.link(sources["raw"], link)
    before = sha256(sources["raw"])
    for dst in (sources["raw"], link):
        with pytest.raises(UsageError, match="is the source itself"):
            conv.convert(sources["raw"], dst, "raw", overwrite=True)
    assert sha256(sources["raw"]) == before


def test_missing_destination_folder_and_folder_destination(sources, tmp_path):
    with pytest.raises(UsageError, match="does not exist; create it first"):
        conv.convert(sources["raw"], tmp_path / "nowhere" / "out.raw", "raw")
    with pytest.raises(UsageError, match="is a folder"):
        conv.convert(sources["raw"], tmp_path, "raw")


def test_destination_that_appears_meanwhile_is_not_replaced(sources, tmp_path, monkeypatch):
    dst = tmp_path / "out.raw"
    real_run = qemu.run

    def run_then_someone_writes_dst(argv, **kwargs):
        result = real_run(argv, **kwargs)
        if argv[1] == "convert":
            dst.write_bytes(b"theirs")
        return result

    monkeypatch.setattr(conv.qemu, "run", run_then_someone_writes_dst)
    with pytest.raises(UsageError, match="appeared while converting"):
        conv.convert(sources["raw"], dst, "raw")
    assert dst.read_bytes() == b"theirs"
    assert leftovers(tmp_path) == []


# -- failures leave nothing behind --

def test_verification_failure_discards_the_output(sources, tmp_path, monkeypatch):
    """A compare that finds a difference (injected: compared against another image) keeps nothing."""
    other = write_pattern(tmp_path / "other.raw", 32 * MiB, [(MiB, 4096)], seed=2)
    real_compare = qemu.compare_argv
    monkeypatch.setattr(
        conv.qemu, "compare_argv", lambda a, a_fmt, b, b_fmt, **kw: real_compare(str(other), "raw", b, b_fmt, **kw)
    )
    with pytest.raises(VerificationError, match="does not read the same"):
        conv.convert(sources["raw"], tmp_path / "out.qcow2", "qcow2")
    assert not (tmp_path / "out.qcow2").exists()
    assert leftovers(tmp_path) == []


def test_qemu_failure_midway_leaves_nothing(sources, tmp_path, monkeypatch):
    """qemu-img compare fails (injected) after the output was written: nothing is left."""
    real_run = qemu.run

    def failing_compare(argv, **kwargs):
        if argv[1] == "compare":
            raise ToolFailedError("qemu-img compare failed (injected)")
        return real_run(argv, **kwargs)

    monkeypatch.setattr(conv.qemu, "run", failing_compare)
    with pytest.raises(ToolFailedError, match="injected"):
        conv.convert(sources["raw"], tmp_path / "out.vdi", "vdi")
    assert list(tmp_path.iterdir()) == []


def test_output_header_is_read_back_in_process(sources, tmp_path, monkeypatch):
    """The output's format and size come from the probe of the written file: no qemu-img info runs."""
    real_run = qemu.run
    ran: list[str] = []
    monkeypatch.setattr(conv.qemu, "run", lambda argv, **kwargs: ran.append(argv[1]) or real_run(argv, **kwargs))
    result = conv.convert(sources["qcow2"], tmp_path / "out.vhdx", "vhdx", verify=False)
    assert ran == ["measure", "convert"]
    assert result.virtual_size == info(tmp_path / "out.vhdx", "vhdx")["virtual-size"] == 32 * MiB
    assert result.subformat == "dynamic" and not result.verified


@pytest.mark.parametrize(
    "target, subformat, wrong, message",
    [
        ("qcow2", None, {"format": "vmdk"}, "reads back as a vmdk image"),
        ("vpc", "dynamic", {"virtual_size": 32 * MiB - 512}, r"reads as vpc dynamic of 33,553,920 bytes, not vpc dynamic of 33,554,432"),
        ("vpc", "fixed", {"subformat": "dynamic"}, "reads as vpc dynamic of 33,554,432 bytes, not vpc fixed"),
        ("raw", None, {"format": "qcow2", "subformat": "1.1"}, "reads back as a qcow2 image .* write qcow2 instead"),
    ],
)
@pytest.mark.parametrize("verify", [True, False])
def test_output_header_that_disagrees_discards_the_output(target, subformat, wrong, message, verify, sources, tmp_path, monkeypatch):
    """A written header that reads back wrong (injected into the probe of the output only) keeps nothing."""
    real_probe = conv.probing.probe

    def probe_with_a_wrong_output(path, format_hint=None):
        found = real_probe(path, format_hint)
        return dataclasses.replace(found, **wrong) if path.endswith(conv.PARTIAL_SUFFIX) else found

    monkeypatch.setattr(conv.probing, "probe", probe_with_a_wrong_output)
    dst = tmp_path / "out"
    with pytest.raises(VerificationError, match=message):
        conv.convert(sources["raw"], dst, target, subformat=subformat, verify=verify)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 16 MiB tmpfs (root only), unmounted afterwards."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16M", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


@pytest.fixture(scope="module")
def data_24mib(tmp_path_factory) -> Path:
    """24 MiB of incompressible data in a 32 MiB raw image: does not fit a 16 MiB tmpfs."""
    return write_pattern(tmp_path_factory.mktemp("big") / "data.raw", 32 * MiB, [(0, 24 * MiB)], seed=3)


def test_no_space_is_refused_before_writing(data_24mib, small_tmpfs):
    before = sha256(data_24mib)
    with pytest.raises(NoSpaceError, match=r"has [\d,]+ bytes free but the output needs up to [\d,]+"):
        conv.convert(data_24mib, small_tmpfs / "out.qcow2", "qcow2")
    assert list(small_tmpfs.iterdir()) == []
    assert sha256(data_24mib) == before


def test_no_space_cli_exit_2(data_24mib, small_tmpfs):
    done = imgtools("convert", str(data_24mib), str(small_tmpfs / "out.qcow2"), "-O", "qcow2")
    assert done.returncode == 2
    assert done.stderr.startswith("imgtools convert: ") and done.stderr.count("\n") == 1
    assert "bytes free" in done.stderr
    assert list(small_tmpfs.iterdir()) == []


@pytest.mark.parametrize("fmt", ["qcow2", "vmdk", "vpc"])
def test_running_out_of_space_while_writing_cleans_up(fmt, data_24mib, small_tmpfs, monkeypatch):
    """The space check passes (injected), the write hits ENOSPC: nothing is left."""
    monkeypatch.setattr(conv, "check_free_space", lambda folder, required: None)
    with pytest.raises(ToolFailedError, match="qemu-img convert failed"):
        conv.convert(data_24mib, small_tmpfs / "out", fmt)
    assert list(small_tmpfs.iterdir()) == []


# -- the CLI --

def test_cli_json_contract(sources, tmp_path):
    dst = tmp_path / "out.vhd"
    done = imgtools("convert", str(sources["vmdk"]), str(dst), "-O", "vhd", "-o", "subformat=fixed", "--align", "1MiB", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar with --json
    result = json.loads(done.stdout)
    assert result["format"] == "vpc" and result["subformat"] == "fixed" and result["verified"] is True
    assert result["path"] == str(dst) and result["virtual_size"] == 32 * MiB
    assert result["file_size"] == dst.stat().st_size
    assert result["source"]["format"] == "vmdk" and result["source"]["safe"] is True


def test_cli_text_and_no_verify(sources, tmp_path):
    done = imgtools("convert", str(sources["raw"]), str(tmp_path / "out.qcow2"), "-O", "qcow2", "--no-verify")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {tmp_path / 'out.qcow2'} (qcow2")
    assert "not verified" in done.stdout
    assert done.stderr == ""  # stderr is not a terminal: no progress bar


def test_cli_progress_bar_on_a_terminal(sources, tmp_path):
    """Under a pseudo-terminal the bar is drawn for both phases."""
    import pty

    argv = [sys.executable, "-m", "imgtools.cli.main", "convert", str(sources["raw"]), str(tmp_path / "o.qcow2"), "-O", "qcow2"]
    output = bytearray()

    def read(fd):
        data = os.read(fd, 4096)
        output.extend(data)
        return data

    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    while True:
        try:
            if not read(fd):
                break
        except OSError:
            break
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert b"converting [" in output and b"verifying  [" in output and b"100.0%" in output


@pytest.mark.parametrize(
    "argv, message",
    [
        (["-O", "qed"], "cannot write qed"),
        (["-O", "bogus"], "unknown image format 'bogus'"),
        (["-O", "vmdk", "-o", "cluster_size=4k"], "-o takes subformat=NAME only"),
        (["-O", "vpc", "--align", "lots"], "cannot read size 'lots'"),
        (["-O", "raw", "--compress"], "raw cannot be compressed"),
    ],
)
def test_cli_usage_errors_exit_2(argv, message, sources, tmp_path):
    done = imgtools("convert", str(sources["raw"]), str(tmp_path / "out"), *argv)
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_output_header_disagreeing_exit_2(sources, tmp_path, monkeypatch, capsys):
    """In-process, so the probe of the output can be made to disagree (injected): one line, exit 2, nothing left."""
    from imgtools.cli import main as cli

    real_probe = conv.probing.probe
    monkeypatch.setattr(
        conv.probing, "probe",
        lambda path, hint=None: dataclasses.replace(real_probe(path, hint), virtual_size=0)
        if path.endswith(conv.PARTIAL_SUFFIX) else real_probe(path, hint),
    )
    code = cli.main(["convert", str(sources["vmdk"]), str(tmp_path / "out.qcow2"), "-O", "qcow2", "--json"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("imgtools convert: the qcow2 output's header reads as qcow2 of 0 bytes") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_missing_source_exit_2(tmp_path):
    done = imgtools("convert", str(tmp_path / "absent.raw"), str(tmp_path / "out"), "-O", "raw")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_unsafe_source_exit_1(tmp_path):
    """A qcow2 with a backing file is refused before qemu-img reads it."""
    secret = tmp_path / "host-file.raw"
    secret.write_bytes(b"host secret" * 1000)
    hostile = tmp_path / "hostile.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(secret), "-F", "raw", str(hostile))
    before = sha256(hostile)
    done = imgtools("convert", str(hostile), str(tmp_path / "out.raw"), "-O", "raw")
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("imgtools convert: ") and done.stderr.count("\n") == 1
    assert not (tmp_path / "out.raw").exists() and leftovers(tmp_path) == []
    assert sha256(hostile) == before


def test_cli_format_hint_disagreeing_is_refused(sources, tmp_path):
    done = imgtools("convert", str(sources["qcow2"]), str(tmp_path / "out.raw"), "-O", "raw", "--format-hint", "vmdk")
    assert done.returncode == 1, done.stderr
    assert not (tmp_path / "out.raw").exists()


# -- interrupted --

@pytest.fixture(scope="module")
def slow_source() -> Path:
    """1 GiB raw, 512 MiB of random data: compressing it to qcow2 takes seconds.  Cached."""
    path = FIXTURE_CACHE / "convert-slow-1g-512m-random-v1.raw"
    if not path.exists():
        FIXTURE_CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        write_pattern(partial, 1 << 30, [(i, 64 * MiB) for i in range(0, 1 << 30, 128 * MiB)], seed=4)
        partial.rename(path)
    return path


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_conversion_leaves_nothing(sig, slow_source, tmp_path):
    before = sha256(slow_source)
    dst = tmp_path / "out.qcow2"
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgtools.cli.main", "convert", str(slow_source), str(dst), "-O", "qcow2", "--compress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 30
    while not leftovers(tmp_path):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the temporary file never appeared"
        time.sleep(0.02)
    partial = leftovers(tmp_path)[0]
    time.sleep(0.3)  # let qemu-img write a little
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.startswith("imgtools convert: ") and err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
    assert not _processes_mentioning(partial)  # qemu-img was stopped too
    assert sha256(slow_source) == before


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found
