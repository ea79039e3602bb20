"""The qemu-img seam: exact argv, timeouts, missing binary, killed runs, resource limits."""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imgtools import qemu
from imgtools.errors import ToolFailedError, ToolMissingError
from tests.support import make_image

QEMU_IMG = shutil.which("qemu-img")


@pytest.fixture
def fake_qemu_img(tmp_path):
    """Write a shell script standing in for qemu-img (to make it hang, die or report its limits)."""

    def write(body: str) -> str:
        script = tmp_path / "qemu-img"
        script.write_text("#!/bin/sh\n" + body + "\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        return str(script)

    return write


# -- argv builders --

def test_reads_always_name_the_format_share_and_ask_for_json():
    assert qemu.info_argv("/i", "vmdk") == [QEMU_IMG, "info", "-f", "vmdk", "--output=json", "--force-share", "/i"]
    assert qemu.check_argv("/i", "qcow2") == [QEMU_IMG, "check", "-f", "qcow2", "--output=json", "--force-share", "/i"]
    assert qemu.measure_argv("/i", "raw", "qcow2", {"compat": "1.1"}) == [
        QEMU_IMG, "measure", "--output=json", "-f", "raw", "-O", "qcow2", "-o", "compat=1.1", "--force-share", "/i",
    ]


def test_convert_argv():
    assert qemu.convert_argv("/s", "vpc", "/d", "vmdk", options={"subformat": "streamOptimized"}) == [
        QEMU_IMG, "convert", "-f", "vpc", "-O", "vmdk", "--force-share", "-o", "subformat=streamOptimized", "/s", "/d",
    ]
    assert qemu.convert_argv("/s", "raw", "/d", "qcow2", options={"compat": "1.1"}, compress=True, progress=True) == [
        QEMU_IMG, "convert", "-f", "raw", "-O", "qcow2", "--force-share", "-p", "-c", "-o", "compat=1.1", "/s", "/d",
    ]


def test_convert_into_a_created_image_drops_options_and_trusts_its_zeroes():
    argv = qemu.convert_argv("/s", "raw", "/d", "vpc", options={"subformat": "fixed"}, target_exists=True)
    assert argv == [QEMU_IMG, "convert", "-f", "raw", "-O", "vpc", "--force-share", "-n", "--target-is-zero", "/s", "/d"]


def test_create_and_compare_argv():
    assert qemu.create_argv("/d", "vpc", 1 << 20, {"subformat": "fixed", "force_size": "on"}) == [
        QEMU_IMG, "create", "-q", "-f", "vpc", "-o", "subformat=fixed,force_size=on", "/d", "1048576",
    ]
    assert qemu.compare_argv("/a", "raw", "/b", "vdi", progress=True) == [
        QEMU_IMG, "compare", "-f", "raw", "-F", "vdi", "--force-share", "-p", "/a", "/b",
    ]


# -- the binary --

def test_missing_binary_names_the_cause_and_the_fix(monkeypatch):
    monkeypatch.setenv(qemu.BINARY_ENV, "/nonexistent")
    with pytest.raises(ToolMissingError, match=r"/nonexistent not found: install it .*apt-get install qemu-utils.*IMGTOOLS_QEMU_IMG"):
        qemu.info_argv("/i", "raw")


def test_binary_env_selects_another_qemu_img(monkeypatch, fake_qemu_img):
    script = fake_qemu_img('echo "qemu-img version 9.9.9"')
    monkeypatch.setenv(qemu.BINARY_ENV, script)
    assert qemu.info_argv("/i", "raw")[0] == script
    assert qemu.version() == "9.9.9"


def test_version_of_the_real_qemu_img():
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", qemu.version())


# -- running --

def test_run_returns_json(tmp_path):
    image = make_image(tmp_path / "a.qcow2", "qcow2", "3M")
    result = qemu.run(qemu.info_argv(str(image), "qcow2"))
    assert result.returncode == 0
    assert result.json()["virtual-size"] == 3 << 20


def test_failure_reports_qemu_img_last_line(tmp_path):
    with pytest.raises(ToolFailedError, match=r"qemu-img info failed \(exit 1\): .*No such file") as caught:
        qemu.run(qemu.info_argv(str(tmp_path / "absent"), "raw"))
    assert caught.value.returncode == 1
    assert "No such file" in caught.value.stderr


def test_non_json_output_is_a_clear_error(fake_qemu_img):
    with pytest.raises(ToolFailedError, match="qemu-img info printed no JSON"):
        qemu.run([fake_qemu_img("echo not json"), "info"]).json()


def test_ok_codes_accept_compare_difference(tmp_path):
    a = make_image(tmp_path / "a.raw", "raw", "1M")
    b = tmp_path / "b.raw"
    b.write_bytes(b"\x01" * (1 << 20))
    result = qemu.run(qemu.compare_argv(str(a), "raw", str(b), "raw"), ok_codes=(0, 1))
    assert result.returncode == 1


def test_progress_is_parsed(tmp_path):
    src = tmp_path / "src.raw"
    src.write_bytes(os.urandom(4 << 20))
    seen: list[float] = []
    qemu.run(qemu.convert_argv(str(src), "raw", str(tmp_path / "out.qcow2"), "qcow2", progress=True), on_progress=seen.append)
    assert seen and seen[-1] == 100.0
    assert seen == sorted(seen)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_timeout_stops_the_child(fake_qemu_img, tmp_path):
    pidfile = tmp_path / "pid"
    script = fake_qemu_img(f"echo $$ > {pidfile}; exec sleep 60")
    started = time.monotonic()
    with pytest.raises(ToolFailedError, match=r"qemu-img info did not finish within 0.5 s and was stopped"):
        qemu.run([script, "info"], timeout=0.5)
    assert time.monotonic() - started < 10
    assert not _alive(int(pidfile.read_text()))


def test_killed_run_names_the_signal_and_the_limits(fake_qemu_img):
    with pytest.raises(ToolFailedError, match=r"qemu-img check was killed by SIGKILL .*memory or CPU limit") as caught:
        qemu.run([fake_qemu_img("kill -KILL $$"), "check"])
    assert caught.value.returncode == -signal.SIGKILL


def test_killed_run_without_limits_has_no_limit_hint(fake_qemu_img):
    with pytest.raises(ToolFailedError, match=r"killed by SIGTERM after [\d.]+ s$"):
        qemu.run([fake_qemu_img("kill -TERM $$"), "convert"], limits=None)


def test_inspecting_calls_run_under_memory_and_cpu_limits(fake_qemu_img):
    script = fake_qemu_img("echo $(ulimit -v) $(ulimit -t)")
    assert qemu.run([script, "info"]).stdout.split() == [str((1 << 30) // 1024), "30"]
    assert qemu.run([script, "convert"], limits=qemu.STREAM_LIMITS).stdout.split() == [str((4 << 30) // 1024), "unlimited"]
    assert qemu.run([script, "convert"], limits=None).stdout.split() == ["unlimited", "unlimited"]


def test_memory_limit_actually_bites(fake_qemu_img):
    """A child asking for more than the address-space limit fails instead of eating the host."""
    hog = fake_qemu_img('exec python3 -c "bytearray(2 << 30)"')
    with pytest.raises(ToolFailedError, match="MemoryError"):
        qemu.run([hog, "info"], limits=qemu.ResourceLimits(address_space=512 << 20))


def test_child_runs_in_its_own_session(fake_qemu_img):
    """A terminal's Ctrl-C goes to imgtools only, which then stops qemu-img itself."""
    sid = qemu.run([fake_qemu_img("ps -o sid= -p $$"), "info"]).stdout.strip()
    assert int(sid) != os.getsid(0)


def test_interrupt_kills_the_child(fake_qemu_img, tmp_path):
    pidfile = tmp_path / "pid"
    script = fake_qemu_img(f"echo $$ > {pidfile}; exec sleep 60")

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            qemu.run([script, "convert"], timeout=None)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert not _alive(int(pidfile.read_text()))


def test_child_dies_when_imgtools_is_killed(fake_qemu_img, tmp_path):
    """SIGKILL on imgtools (no cleanup possible) still stops qemu-img, which runs in its own session."""
    pidfile = tmp_path / "pid"
    script = fake_qemu_img(f"echo $$ > {pidfile}; exec sleep 60")
    parent = subprocess.Popen(
        [sys.executable, "-c", f"from imgtools import qemu; qemu.run([{script!r}, 'convert'], timeout=None)"]
    )
    deadline = time.monotonic() + 20
    while not pidfile.exists() or not pidfile.read_text().strip():
        assert time.monotonic() < deadline and parent.poll() is None
        time.sleep(0.02)
    child = int(pidfile.read_text())
    parent.kill()
    parent.wait()
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(child)


def test_iso_is_read_by_qemus_raw_driver():
    """qemu has no iso driver: a probed ISO is always passed as -f raw."""
    argv = qemu.info_argv("/images/x.iso", "iso")
    assert argv[argv.index("-f") + 1] == "raw"
    argv = qemu.convert_argv("/images/x.iso", "iso", "/out/x.qcow2", "qcow2")
    assert argv[argv.index("-f") + 1] == "raw" and argv[argv.index("-O") + 1] == "qcow2"
