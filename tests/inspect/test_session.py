"""The libguestfs session: KVM→TCG fallback remembered, read-only drives, unsafe images never opened,
launch failures as one-line errors, and the facts cache."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from imgtools import __version__
from imgtools.errors import InspectionError, UnsafeImageError
from imgtools.facts import Facts
from imgtools.inspect import factcache, gather_facts, session
from imgtools.probe import probe
from tests.support import make_image, qemu_img, sha256


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """No remembered verdict, no user backend settings: the automatic path."""
    monkeypatch.setenv("IMGTOOLS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(session.SETTINGS_ENV, raising=False)
    return tmp_path / "cache"


@pytest.fixture
def no_launch(monkeypatch):
    """Inject a failure into every launch: a test that passes with it proves nothing was launched."""
    def refuse(*args, **kwargs):
        raise InspectionError("injected: the appliance must not be launched here")
    monkeypatch.setattr(session, "_try_launch", refuse)


def _verdicts(cache) -> dict:
    return json.loads((cache / session.VERDICT_FILE).read_text())


@pytest.mark.appliance
def test_fallback_verdict_is_remembered_and_drives_are_read_only(fresh_cache, tmp_path):
    image = make_image(tmp_path / "blank.qcow2", "qcow2", "32M")
    before = sha256(image)
    drives = [session.Drive(str(image), "qcow2")]
    messages: list[str] = []
    with session.open_drives(drives, on_progress=messages.append) as appliance:
        # Even a write inside the appliance lands in libguestfs' throw-away overlay, never in the image.
        appliance.g.part_init("/dev/sda", "gpt")
        assert appliance.g.part_get_parttype("/dev/sda") == "gpt"
        settings = appliance.g.get_backend_settings()
    verdict = _verdicts(fresh_cache)[session.verdict_key(session.hypervisor())]
    assert verdict == appliance.backend
    if os.path.exists(session.KVM_DEVICE):
        assert appliance.attempts[0] == "kvm"  # tried first where /dev/kvm exists…
    assert appliance.attempts[-1] == appliance.backend
    if appliance.backend == "tcg":
        assert settings == ["force_tcg"]
        assert any("TCG" in m for m in messages)
    assert sha256(image) == before
    # …and a second launch goes straight to the remembered backend.
    assert [a.backend for a in session.plan(session.hypervisor())] == [appliance.backend]


def test_plan_respects_user_settings(fresh_cache, monkeypatch):
    monkeypatch.setenv(session.SETTINGS_ENV, "force_tcg")
    assert session.plan("/usr/bin/qemu-system-x86_64") == [session.Attempt("tcg", None)]
    monkeypatch.setenv(session.SETTINGS_ENV, "some_other_setting")
    assert session.plan("/usr/bin/qemu-system-x86_64") == [session.Attempt("kvm", None)]


def test_plan_without_verdict_tries_kvm_then_tcg(fresh_cache):
    hv = "/usr/bin/qemu-system-x86_64"
    attempts = [a.backend for a in session.plan(hv)]
    assert attempts == (["kvm", "tcg"] if os.path.exists(session.KVM_DEVICE) else ["tcg"])
    session.remember_backend(hv, "tcg")
    assert [a.backend for a in session.plan(hv)] == ["tcg"]
    # Another hypervisor version (a qemu upgrade) is judged afresh.
    assert session.remembered_backend("/nonexistent/qemu") is None


def test_corrupt_verdict_file_is_ignored(fresh_cache):
    fresh_cache.mkdir(parents=True, exist_ok=True)
    (fresh_cache / session.VERDICT_FILE).write_text("{not json")
    assert session.remembered_backend("/usr/bin/qemu-system-x86_64") is None
    session.remember_backend("/usr/bin/qemu-system-x86_64", "tcg")
    assert session.remembered_backend("/usr/bin/qemu-system-x86_64") == "tcg"


def test_launch_failure_is_a_one_line_inspection_error(fresh_cache, tmp_path, monkeypatch):
    """A real failure: libguestfs is pointed at a hypervisor that exits at once."""
    image = make_image(tmp_path / "blank.raw", "raw", "8M")
    monkeypatch.setenv("LIBGUESTFS_HV", "/bin/false")
    with pytest.raises(InspectionError) as raised:
        session.launch([session.Drive(str(image), "raw")])
    message = str(raised.value)
    assert message.startswith("libguestfs appliance failed to start: ")
    assert "libguestfs-test-tool" in message
    assert "\n" not in message
    assert raised.value.exit_code == 2
    # Neither backend worked: no verdict is recorded.
    assert not (fresh_cache / session.VERDICT_FILE).exists()


def _sleeper(*args: str) -> subprocess.Popen:
    """A child of this process that sleeps, with ``args`` on its command line (as the hypervisor's are)."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *args])


def test_stall_guard_stops_only_kvm_children_and_only_when_late():
    kvm, tcg = _sleeper("-machine", "accel=kvm:tcg"), _sleeper("-machine", "accel=tcg")
    try:
        with session._StallGuard(0.5) as guard:
            assert kvm.wait(timeout=30) == -signal.SIGKILL
        assert guard.fired
        assert tcg.poll() is None  # a TCG hypervisor is never stopped
        with session._StallGuard(0.5) as early:  # the launch ended in time: nothing is stopped
            late = _sleeper("-machine", "accel=kvm")
        time.sleep(1.0)
        assert late.poll() is None and not early.fired
        late.kill()
    finally:
        for child in (kvm, tcg):
            child.kill()
            child.wait()


@pytest.mark.appliance
def test_a_stalled_kvm_launch_falls_back_to_tcg(fresh_cache, tmp_path, monkeypatch):
    """Injected stall: on nested PVM hosts KVM never fails, the guest just hangs after the BIOS.

    The hypervisor is a wrapper that hangs on the appliance's KVM launch and runs
    the real qemu otherwise; /dev/kvm is made to exist where it does not.
    """
    real = session.hypervisor()
    wrapper = tmp_path / "qemu-stalls-on-kvm"
    wrapper.write_text(f"""#!/bin/sh
case " $* " in *" -kernel "*accel=kvm*|*accel=kvm*" -kernel "*)
  exec {sys.executable} -c 'import time; time.sleep(600)' "$@";;
esac
exec {real} "$@"
""")
    wrapper.chmod(0o755)
    monkeypatch.setenv("LIBGUESTFS_HV", str(wrapper))
    monkeypatch.setattr(session, "KVM_STALL_SECONDS", 3.0)
    if not os.path.exists(session.KVM_DEVICE):
        monkeypatch.setattr(session, "KVM_DEVICE", str(wrapper))
    image = make_image(tmp_path / "blank.raw", "raw", "8M")
    messages: list[str] = []
    with session.open_drives([session.Drive(str(image), "raw")], on_progress=messages.append) as appliance:
        assert appliance.g.blockdev_getsize64("/dev/sda") == 8 << 20
    assert (appliance.attempts, appliance.backend) == (["kvm", "tcg"], "tcg")
    assert any("KVM had not booted the appliance after 3 s" in m for m in messages), messages
    assert session._kvm_children() == []  # the stalled hypervisor was stopped, not left behind
    assert _verdicts(fresh_cache)[session.verdict_key(str(wrapper))] == "tcg"


def test_unsafe_image_never_reaches_libguestfs(tmp_path, no_launch):
    base = make_image(tmp_path / "base.raw", "raw", "8M")
    child = tmp_path / "child.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", "raw", str(child))
    facts = gather_facts(str(child))
    assert not facts.image.safe
    assert facts.guest is None and facts.boot is None and facts.drivers is None
    assert facts.image.check is None  # not even qemu-img check ran
    with pytest.raises(UnsafeImageError):
        with session.open_image(probe(str(child))):
            pass


@pytest.mark.appliance
def test_image_without_os_is_inspected_with_a_warning(tmp_path):
    """A blank disk launches, reports its (empty) layout, and says no OS was found."""
    image = make_image(tmp_path / "blank.qcow2", "qcow2", "16M")
    facts = gather_facts(str(image))
    assert facts.image.check.status == "clean"
    assert facts.guest is None
    assert facts.boot.partition_table == "none"
    assert facts.boot.firmware == "unknown"
    assert "no operating system found on the image" in facts.facts.inspection.warnings
    assert facts.facts.inspection.backend in ("kvm", "tcg")


# -- the facts cache (no launch: a cached entry is planted, then the launch is made to fail) --

@pytest.fixture
def planted(tmp_path, fresh_cache):
    """A real qcow2 with a facts document in the cache, as an earlier inspection leaves it."""
    image = make_image(tmp_path / "disk.qcow2", "qcow2", "16M")
    facts = Facts(imgtools_version=__version__, image=probe(str(image)))
    facts.facts.inspection.warnings.append("planted")
    factcache.store(factcache.cache_key([str(image)]), facts)
    return image


def test_cached_facts_need_no_launch(planted, no_launch):
    started = time.monotonic()
    facts = gather_facts(str(planted))
    assert time.monotonic() - started < 1.0
    assert facts.facts.inspection.warnings == ["planted"]


def test_refresh_ignores_the_cache(planted, no_launch):
    with pytest.raises(InspectionError, match="injected"):
        gather_facts(str(planted), refresh=True)


def test_modified_image_invalidates_the_cache(planted, no_launch):
    qemu_img("resize", "-q", "-f", "qcow2", str(planted), "32M")
    with pytest.raises(InspectionError, match="injected"):
        gather_facts(str(planted))


def test_touched_image_invalidates_the_cache(planted, no_launch):
    st = os.stat(planted)
    os.utime(planted, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    with pytest.raises(InspectionError, match="injected"):
        gather_facts(str(planted))


def test_corrupt_cache_entry_is_ignored(planted, no_launch):
    entry = next(iter((factcache.cache_dir("facts")).glob("*.json")))
    entry.write_text('{"schema_version": 1, "image": ')
    with pytest.raises(InspectionError, match="injected"):
        gather_facts(str(planted))


def test_cache_of_another_version_is_ignored(planted, no_launch):
    entry = next(iter((factcache.cache_dir("facts")).glob("*.json")))
    data = json.loads(entry.read_text())
    data["imgtools_version"] = "0.0.0-old"
    entry.write_text(json.dumps(data))
    with pytest.raises(InspectionError, match="injected"):
        gather_facts(str(planted))
