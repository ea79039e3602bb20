"""The fast appliance kernel: PVH vmlinux extracted from bzImage-like files, the opt-outs, the cache,
the fallback to the default appliance, and one real launch that boots it."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import struct
from pathlib import Path

import lz4.block
import pytest
import zstandard

from imgtools.errors import InspectionError
from imgtools.fileio import PARTIAL_SUFFIX
from imgtools.inspect import kernel, session
from imgtools.inspect.codecs import LZ4_LEGACY_BLOCK
from tests.support import lzma_asking, make_image, xz_asking

# -- synthetic kernels --

PT_LOAD, PT_NOTE = 1, 4


def _note(name: bytes, n_type: int, desc: bytes) -> bytes:
    pad = lambda b: b + b"\0" * (-len(b) % 4)  # noqa: E731
    return struct.pack("<III", len(name) + 1, len(desc), n_type) + pad(name + b"\0") + pad(desc)


def make_elf(*, pvh: bool = True, machine: int = 62, load_size: int = 4096) -> bytes:
    """A tiny ELF64 executable: one PT_NOTE (Xen notes, the PVH entry one if ``pvh``) and one PT_LOAD."""
    notes = _note(b"Xen", 6, b"linux\0") + _note(b"GNU", 18, b"\0" * 4)  # type 18, but not Xen's
    if pvh:
        notes += _note(b"Xen", kernel.XEN_ELFNOTE_PHYS32_ENTRY, struct.pack("<I", 0x1000000))
    phoff, phnum = 64, 2
    notes_at = phoff + phnum * 56
    load_at = notes_at + len(notes)
    header = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + b"\0" * 9, 2, machine, 1,
                         0x1000000, phoff, 0, 0, 64, 56, phnum, 64, 0, 0)
    phdrs = (struct.pack("<IIQQQQQQ", PT_NOTE, 4, notes_at, 0, 0, len(notes), len(notes), 4)
             + struct.pack("<IIQQQQQQ", PT_LOAD, 5, load_at, 0x1000000, 0x1000000, load_size, load_size, 4096))
    return header + phdrs + notes + (bytes(range(256)) * (load_size // 256 + 1))[:load_size]


def _lz4_legacy(data: bytes) -> bytes:
    out = b"\x02\x21\x4c\x18"
    for start in range(0, len(data), LZ4_LEGACY_BLOCK):
        block = lz4.block.compress(data[start:start + LZ4_LEGACY_BLOCK], store_size=False)
        out += struct.pack("<I", len(block)) + block
    return out


COMPRESSORS = {
    "xz": lambda data: lzma.compress(data, format=lzma.FORMAT_XZ),
    "gzip": lambda data: gzip.compress(data, mtime=0),
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
    "bzip2": bz2.compress,
    "lzma": lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE),
    "lz4": _lz4_legacy,
}

#: Stands in for the bzImage's set-up code and the decompressor after the payload.
SETUP = b"MZ" + b"\x90" * 1000 + b"HdrS" + bytes(range(256)) * 8


def make_bzimage(elf: bytes, codec: str = "xz", prefix: bytes = SETUP) -> bytes:
    """prefix + compressed payload + its 4-byte size (as the kernel build appends) + trailing code."""
    return prefix + COMPRESSORS[codec](elf) + struct.pack("<I", len(elf)) + SETUP


@pytest.mark.parametrize("codec", sorted(COMPRESSORS))
def test_each_compression_yields_the_elf(codec):
    elf = make_elf()
    assert kernel.is_pvh_vmlinux(elf)
    assert kernel.extract_vmlinux(make_bzimage(elf, codec)) == elf


@pytest.mark.parametrize("size", [LZ4_LEGACY_BLOCK + 4096, 2 * LZ4_LEGACY_BLOCK],
                         ids=["short-last-block", "whole-blocks"])
def test_lz4_payload_of_several_blocks(size):
    elf = make_elf(load_size=size - len(make_elf(load_size=0)))
    assert len(elf) == size
    assert kernel.extract_vmlinux(make_bzimage(elf, "lz4")) == elf


def test_false_positive_magics_before_the_payload_are_skipped():
    elf = make_elf()
    # Each codec's magic followed by bytes that are not its stream, then the real (gzip) payload.
    decoys = b"".join(codec.magic + b"\x01\x02garbage" * 20 for codec in kernel.CODECS)
    assert kernel.extract_vmlinux(make_bzimage(elf, "gzip", prefix=SETUP + decoys)) == elf


def test_a_stream_of_something_else_is_skipped():
    """A valid xz stream that is not an ELF (a compressed blob in the set-up) comes first."""
    elf = make_elf()
    image = make_bzimage(elf, "zstd", prefix=SETUP + lzma.compress(b"not a kernel" * 100))
    assert kernel.extract_vmlinux(image) == elf


@pytest.mark.parametrize("elf", [make_elf(pvh=False), make_elf(machine=183)], ids=["no-pvh-note", "aarch64"])
def test_an_elf_that_qemu_cannot_boot_through_pvh_is_refused(elf):
    assert not kernel.is_pvh_vmlinux(elf)
    assert kernel.extract_vmlinux(make_bzimage(elf)) is None


def test_a_truncated_payload_is_refused():
    image = make_bzimage(make_elf(load_size=1 << 16), "xz")
    payload_end = len(SETUP) + len(COMPRESSORS["xz"](make_elf(load_size=1 << 16)))
    assert kernel.extract_vmlinux(image[:payload_end - 100]) is None
    assert kernel.extract_vmlinux(SETUP) is None


@pytest.mark.parametrize("asking", [lzma_asking, xz_asking], ids=["lzma", "xz"])
def test_a_payload_asking_for_a_huge_dictionary_is_refused(asking):
    """Its header asks for 1.5 GiB: refused before any allocation, as a candidate that is not the kernel."""
    elf = make_elf()
    hostile = asking(1536 << 20, elf)
    assert kernel.extract_vmlinux(SETUP + hostile + struct.pack("<I", len(elf)) + SETUP) is None
    assert kernel.extract_vmlinux(make_bzimage(elf, "gzip", prefix=SETUP + hostile)) == elf


# -- which kernel --

def _install(boot: Path, modules: Path, version: str, *, with_modules: bool = True, image: bytes = b"") -> Path:
    boot.mkdir(exist_ok=True)
    path = boot / f"vmlinuz-{version}"
    path.write_bytes(image or make_bzimage(make_elf()))
    if with_modules:
        (modules / version).mkdir(parents=True)
    return path


def test_host_kernel_is_the_newest_with_modules_in_natural_order(tmp_path):
    boot, modules = tmp_path / "boot", tmp_path / "modules"
    _install(boot, modules, "6.1.0-9-amd64")
    newest = _install(boot, modules, "6.1.0-10-amd64")
    _install(boot, modules, "6.2.0-1-amd64", with_modules=False)  # modules removed: supermin skips it
    (boot / "config-6.3.0-1-amd64").write_text("")
    picked = kernel.host_kernel(str(boot), str(modules))
    assert picked == kernel.HostKernel(str(newest), "6.1.0-10-amd64", str(modules / "6.1.0-10-amd64"))
    assert kernel.host_kernel(str(tmp_path / "none"), str(modules)) is None


# -- the launch environment --

@pytest.fixture
def fake_host(tmp_path, monkeypatch):
    """A host whose kernel is a synthetic bzImage; no user appliance settings; our own cache."""
    monkeypatch.setenv("IMGTOOLS_CACHE_DIR", str(tmp_path / "cache"))
    for name in (kernel.APPLIANCE_CACHE_ENV, session.SETTINGS_ENV, kernel.SWITCH_ENV, *kernel.USER_CHOICE_ENVS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(kernel.platform, "machine", lambda: "x86_64")
    boot, modules = tmp_path / "boot", tmp_path / "modules"
    path = _install(boot, modules, "6.1.0-10-amd64")
    monkeypatch.setattr(kernel, "BOOT_DIR", str(boot))
    monkeypatch.setattr(kernel, "MODULES_DIR", str(modules))
    return path


def test_environment_points_supermin_at_the_cached_vmlinux(fake_host, tmp_path):
    env = kernel.fast_kernel_environment()
    assert set(env) == {"SUPERMIN_KERNEL", "SUPERMIN_KERNEL_VERSION", "SUPERMIN_MODULES", "LIBGUESTFS_CACHEDIR"}
    vmlinux = Path(env["SUPERMIN_KERNEL"])
    assert vmlinux.parent == tmp_path / "cache" / "kernel"
    assert vmlinux.read_bytes() == make_elf()
    assert env["SUPERMIN_KERNEL_VERSION"] == "6.1.0-10-amd64"
    assert env["SUPERMIN_MODULES"] == str(tmp_path / "modules" / "6.1.0-10-amd64")
    assert env["LIBGUESTFS_CACHEDIR"] == str(tmp_path / "cache" / "appliance")
    assert os.path.isdir(env["LIBGUESTFS_CACHEDIR"])  # libguestfs refuses a cachedir that does not exist
    assert not [p for p in vmlinux.parent.iterdir() if p.name.endswith(PARTIAL_SUFFIX)]


def test_appliance_folder_can_be_chosen(fake_host, tmp_path, monkeypatch):
    monkeypatch.setenv(kernel.APPLIANCE_CACHE_ENV, str(tmp_path / "shared-appliance"))
    assert kernel.fast_kernel_environment()["LIBGUESTFS_CACHEDIR"] == str(tmp_path / "shared-appliance")
    assert (tmp_path / "shared-appliance").is_dir()


def test_second_call_reuses_the_extracted_vmlinux(fake_host, monkeypatch):
    first = Path(kernel.fast_kernel_environment()["SUPERMIN_KERNEL"])
    before = first.stat()

    def refuse(image):
        raise AssertionError("injected: the cached vmlinux must be reused, not extracted again")
    monkeypatch.setattr(kernel, "extract_vmlinux", refuse)
    second = Path(kernel.fast_kernel_environment()["SUPERMIN_KERNEL"])
    assert second == first
    assert (second.stat().st_ino, second.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_an_updated_kernel_is_extracted_again(fake_host):
    first = kernel.fast_kernel_environment()["SUPERMIN_KERNEL"]
    fake_host.write_bytes(make_bzimage(make_elf(load_size=8192), "zstd"))
    second = kernel.fast_kernel_environment()["SUPERMIN_KERNEL"]
    assert second != first
    assert Path(second).read_bytes() == make_elf(load_size=8192)


def _age(path: Path, seconds: int = 3600) -> Path:
    """Make ``path`` look written ``seconds`` ago (an entry from an earlier run)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 10**9))
    return path


def test_an_extraction_prunes_the_entries_no_installed_kernel_needs(fake_host, tmp_path):
    boot, modules, folder = fake_host.parent, tmp_path / "modules", tmp_path / "cache" / "kernel"
    older = _install(boot, modules, "6.1.0-9-amd64")
    entries = {hk.version: kernel.cached_vmlinux(hk) for hk in kernel.host_kernels(str(boot), str(modules))}
    assert set(entries) == {"6.1.0-9-amd64", "6.1.0-10-amd64"}
    folder.joinpath("vmlinux-5.10.0-20-amd64-0123456789abcdef").write_bytes(b"old kernel")
    folder.joinpath("vmlinux-5.10.0-21-amd64-fedcba9876543210" + kernel.NO_PVH_SUFFIX).write_bytes(b"")
    folder.joinpath(f".vmlinux-5.10.0-22-amd64-aaaaaaaaaaaaaaaa.x1{PARTIAL_SUFFIX}").write_bytes(b"being written")
    folder.joinpath("notes.txt").write_text("not ours")
    for path in folder.iterdir():
        _age(path)
    since = folder / "vmlinux-6.2.0-1-amd64-1111111111111111"   # written by another process since
    since.write_bytes(b"another process's kernel")
    os.utime(since, (since.stat().st_atime + 3600, since.stat().st_mtime + 3600))

    fake_host.write_bytes(make_bzimage(make_elf(load_size=8192)))      # a kernel update: a new entry
    updated = Path(kernel.fast_kernel_environment()["SUPERMIN_KERNEL"])
    assert sorted(p.name for p in folder.iterdir()) == sorted([
        updated.name, entries["6.1.0-9-amd64"].name,                   # both installed kernels' entries
        f".vmlinux-5.10.0-22-amd64-aaaaaaaaaaaaaaaa.x1{PARTIAL_SUFFIX}", "notes.txt", since.name,
    ])

    older.unlink()                                                     # 6.1.0-9 is removed…
    _age(updated)
    fake_host.write_bytes(make_bzimage(make_elf(pvh=False)))           # …and the next update has no PVH note
    assert kernel.fast_kernel_environment() == {}
    remaining = {p.name for p in folder.iterdir()}
    assert entries["6.1.0-9-amd64"].name not in remaining and updated.name not in remaining
    assert [name for name in remaining if name.endswith(kernel.NO_PVH_SUFFIX)]


def test_kernel_without_pvh_means_default_appliance_and_is_not_decompressed_again(fake_host, monkeypatch):
    fake_host.write_bytes(make_bzimage(make_elf(pvh=False)))
    assert kernel.fast_kernel_environment() == {}

    def refuse(image):
        raise AssertionError("injected: a kernel without PVH must not be decompressed at every launch")
    monkeypatch.setattr(kernel, "extract_vmlinux", refuse)
    assert kernel.fast_kernel_environment() == {}


@pytest.mark.parametrize("name, value", [
    ("IMGTOOLS_FAST_KERNEL", "0"),
    ("LIBGUESTFS_PATH", "/usr/lib/guestfs"),
    ("SUPERMIN_KERNEL", "/boot/my-kernel"),
    ("LIBGUESTFS_CACHEDIR", "/var/tmp"),
])
def test_opt_outs_mean_default_appliance(fake_host, monkeypatch, name, value):
    assert kernel.fast_kernel_environment()  # the fake host has a fast kernel…
    monkeypatch.setenv(name, value)
    assert kernel.fast_kernel_environment() == {}  # …which the setting turns off


def test_other_architectures_missing_or_unreadable_kernels_mean_default_appliance(fake_host, monkeypatch):
    monkeypatch.setattr(kernel.platform, "machine", lambda: "aarch64")
    assert kernel.fast_kernel_environment() == {}
    monkeypatch.setattr(kernel.platform, "machine", lambda: "x86_64")
    fake_host.chmod(0)
    if not os.access(fake_host, os.R_OK):  # root reads anything
        assert kernel.fast_kernel_environment() == {}
    fake_host.unlink()
    assert kernel.fast_kernel_environment() == {}


def test_environment_is_restored_after_the_launch(monkeypatch):
    monkeypatch.setenv("SUPERMIN_KERNEL_VERSION", "theirs")
    monkeypatch.delenv("SUPERMIN_KERNEL", raising=False)
    with kernel.environment({"SUPERMIN_KERNEL": "/k", "SUPERMIN_KERNEL_VERSION": "ours"}):
        assert os.environ["SUPERMIN_KERNEL"] == "/k"
        assert os.environ["SUPERMIN_KERNEL_VERSION"] == "ours"
    assert "SUPERMIN_KERNEL" not in os.environ
    assert os.environ["SUPERMIN_KERNEL_VERSION"] == "theirs"


# -- the session: fast kernel first, default appliance when it fails --

@pytest.fixture
def host_fast_kernel(tmp_path, monkeypatch) -> dict[str, str]:
    """This host's own fast kernel (the appliance folder stays the one shared by the test run)."""
    monkeypatch.setenv("IMGTOOLS_CACHE_DIR", str(tmp_path / "cache"))
    for name in (session.SETTINGS_ENV, kernel.SWITCH_ENV, *kernel.USER_CHOICE_ENVS):
        monkeypatch.delenv(name, raising=False)
    env = kernel.fast_kernel_environment()
    if not env:
        pytest.skip("this host has no PVH-bootable kernel for the appliance")
    return env


def test_a_failing_fast_kernel_is_retried_with_the_default_appliance(fake_host, monkeypatch):
    """The fast launch is made to fail; the retry must run without any of our variables."""
    seen: list[str | None] = []

    def launch_failing_with_fast_kernel(drives, settings):
        seen.append(os.environ.get("SUPERMIN_KERNEL"))
        if os.environ.get("SUPERMIN_KERNEL"):
            raise RuntimeError("injected: the fast kernel does not boot")
        return session._new_handle(drives, settings)  # a real handle, not launched
    monkeypatch.setattr(session, "_try_launch", launch_failing_with_fast_kernel)
    monkeypatch.setattr(session, "plan", lambda hv: [session.Attempt("tcg", ["force_tcg"])])
    messages: list[str] = []
    appliance = session.launch([], on_progress=messages.append)
    appliance.g.close()
    assert seen[0] and seen[1:] == [None]
    assert appliance.fast_kernel is None
    assert any("fast appliance kernel did not start" in m for m in messages)
    assert "SUPERMIN_KERNEL" not in os.environ


def test_when_both_fail_the_error_is_the_usual_one_and_nothing_is_remembered(host_fast_kernel, tmp_path, monkeypatch):
    """A real failure: the hypervisor exits at once, with the fast kernel and without it."""
    monkeypatch.setenv("LIBGUESTFS_HV", "/bin/false")
    monkeypatch.setattr(session, "plan", lambda hv: [session.Attempt("tcg", ["force_tcg"])])
    messages: list[str] = []
    image = make_image(tmp_path / "blank.raw", "raw", "8M")
    with pytest.raises(InspectionError, match="^libguestfs appliance failed to start: "):
        session.launch([session.Drive(str(image), "raw")], on_progress=messages.append)
    assert any("fast appliance kernel did not start" in m for m in messages)
    assert not (tmp_path / "cache" / session.VERDICT_FILE).exists()
    assert "SUPERMIN_KERNEL" not in os.environ and "LIBGUESTFS_CACHEDIR" not in os.environ


@pytest.mark.appliance
def test_a_real_appliance_boots_the_fast_kernel(host_fast_kernel, tmp_path):
    """One launch: the appliance libguestfs built in our folder carries our PVH vmlinux."""
    image = make_image(tmp_path / "blank.raw", "raw", "8M")
    with session.open_drives([session.Drive(str(image), "raw")]) as appliance:
        assert appliance.g.list_devices() == ["/dev/sda"]
        cachedir = appliance.g.get_cachedir()
    assert appliance.fast_kernel == host_fast_kernel["SUPERMIN_KERNEL"]
    ours = Path(appliance.fast_kernel).read_bytes()
    assert kernel.is_pvh_vmlinux(ours)
    assert os.path.realpath(cachedir) == os.path.realpath(host_fast_kernel["LIBGUESTFS_CACHEDIR"])
    booted = Path(cachedir, f".guestfs-{os.getuid()}", "appliance.d", "kernel")
    assert booted.stat().st_size == len(ours)
    assert booted.read_bytes() == ours
    assert "SUPERMIN_KERNEL" not in os.environ
