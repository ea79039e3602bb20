"""`imgtools check`, `explain` and `profiles` end to end: exit codes, formats, files, errors.

Most tests check facts documents (``--facts``), which needs no appliance; the
unsafe-image tests use real qcow2 files made with qemu-img (the probe refuses
them, so nothing opens them); the tests on a safe image launch the appliance
through ``imgtools.inspect.gather_facts`` and skip while it is not available.
"""

from __future__ import annotations

import importlib
import json
import time
import xml.etree.ElementTree as ET

import pytest

from imgtools.cli.main import main
from imgtools.facts import ModuleState
from tests.checks.sample_facts import debian, rhel
from tests.support import fresh_python, make_image, qemu_img


def gather_facts_or_skip():
    gather = getattr(importlib.import_module("imgtools.inspect"), "gather_facts", None)
    if gather is None:
        pytest.skip("imgtools.inspect.gather_facts is not available yet")
    return gather


@pytest.fixture
def facts_file(tmp_path):
    """A Debian guest whose initramfs lacks virtio_blk, and a RHEL one that is ready."""

    def write(builder=debian, broken=True):
        facts = builder()
        if broken:
            facts.facts.linux.kernels[0].modules["virtio_blk"] = ModuleState(on_disk=True)
        path = tmp_path / f"{builder.__name__}.json"
        path.write_text(facts.to_json())
        return str(path)

    return write


def run_json(capsys, *argv):
    code = main(["check", "--json", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_json_contract_and_exit_code(capsys, facts_file):
    code, report = run_json(capsys, "--facts", facts_file())
    assert code == 1
    assert report["profile"] == "huaweicloud" and report["verdict"] == "fail"
    virtio = next(f for f in report["findings"] if f["id"] == "IMG-DRV-001")
    assert virtio["status"] == "fail" and virtio["severity"] == "error"
    assert "update-initramfs -u -k all" in virtio["remediation"]


def test_a_ready_guest_passes_with_exit_0(capsys, facts_file):
    code, report = run_json(capsys, "--facts", facts_file(rhel, broken=False), "--profile", "openstack")
    assert (code, report["verdict"], report["profile"]) == (0, "pass", "openstack")


def test_waive_and_fail_on(capsys, facts_file):
    path = facts_file()
    code, report = run_json(capsys, "--facts", path, "--waive", "IMG-DRV-001:Xen flavors only")
    assert code == 0 and report["counts"]["waived"] == 1
    waived = next(f for f in report["findings"] if f["id"] == "IMG-DRV-001")
    assert (waived["status"], waived["waiver"]) == ("waived", "Xen flavors only")
    code, report = run_json(capsys, "--facts", path, "--waive", "virtio-drivers", "--fail-on", "warning")
    assert code == 0, [f for f in report["findings"] if f["status"] == "fail"]
    code, _ = run_json(capsys, "--facts", facts_file(rhel, broken=False), "--fail-on", "warning",
                       "--profile", "azure")
    assert code == 1  # Azure wants console=ttyS0 (a warning) and the guest lacks it


def test_junit_and_sarif_written_atomically_with_o(capsys, tmp_path, facts_file):
    out = tmp_path / "check.xml"
    assert main(["check", "--facts", facts_file(), "--format", "junit", "-o", str(out)]) == 1
    line = capsys.readouterr().out
    assert line.startswith("verdict: FAIL") and str(out) in line
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite.find("testcase[@name='IMG-DRV-001 virtio-drivers']/failure") is not None
    sarif = tmp_path / "check.sarif"
    main(["check", "--facts", facts_file(), "--format", "sarif", "-o", str(sarif)])
    assert json.loads(sarif.read_text())["version"] == "2.1.0"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["check.sarif", "check.xml", "debian.json"]


def test_text_is_the_default(capsys, facts_file):
    main(["check", "--facts", facts_file()])
    out = capsys.readouterr().out
    assert "FAIL    IMG-DRV-001" in out and out.rstrip().splitlines()[-1].startswith("verdict: FAIL")


@pytest.mark.parametrize("argv, words", [
    (["--profile", "ibm"], "no profile named 'ibm'"),
    (["--waive", "IMG-XXX-001"], "cannot waive 'IMG-XXX-001'"),
    (["-o", "/nonexistent/dir/report.json"], "cannot write /nonexistent/dir/report.json"),
])
def test_usage_errors_are_one_line_and_exit_2(capsys, facts_file, argv, words):
    assert main(["check", "--facts", facts_file(), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("imgtools check: ") and words in err and err.count("\n") == 1


def test_a_bad_profile_file_names_file_and_line(capsys, tmp_path, facts_file):
    profile = tmp_path / "mine.yaml"
    profile.write_text("extends: huaweicloud\nchecks:\n  IMG-NOPE-001: error\n")
    assert main(["check", "--facts", facts_file(), "--profile", str(profile)]) == 2
    assert f"{profile}:3: unknown check id 'IMG-NOPE-001'" in capsys.readouterr().err


def test_a_facts_file_that_is_not_one(capsys, tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    assert main(["check", "--facts", str(bad)]) == 2
    assert "is not an imgtools facts document" in capsys.readouterr().err


# -- real images --

def test_an_unsafe_image_gets_a_report_and_exit_1(capsys, tmp_path):
    """A qcow2 with a backing file: probe-level checks fail, guest checks skip, nothing is opened."""
    base = make_image(tmp_path / "base.qcow2", "qcow2", "64M")
    top = tmp_path / "top.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(top))
    started = time.monotonic()
    code, report = run_json(capsys, str(top))
    assert time.monotonic() - started < 5, "an unsafe image must not launch the appliance"
    assert code == 1 and report["verdict"] == "fail" and report["image"] == str(top)
    by_id = {f["id"]: f for f in report["findings"]}
    assert by_id["IMG-IMG-006"]["status"] == "fail" and "backing" in by_id["IMG-IMG-006"]["message"]
    assert by_id["IMG-IMG-001"]["status"] == "pass"
    assert by_id["IMG-DRV-001"]["status"] == "skip"


def test_an_unsafe_image_in_junit(capsys, tmp_path):
    base = make_image(tmp_path / "base.qcow2", "qcow2", "64M")
    top = tmp_path / "top.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(top))
    assert main(["check", "--format", "junit", str(top)]) == 1
    root = ET.fromstring(capsys.readouterr().out)
    assert root.find(".//testcase[@name='IMG-IMG-006 probe-safe']/failure") is not None
    assert root.find(".//testcase[@name='IMG-BOOT-001 kernel-present']/skipped") is not None


@pytest.mark.appliance
def test_a_blank_qcow2_is_checked_at_image_level(capsys, tmp_path):
    """A real, safe qcow2 with no OS: probe-level checks pass, qemu-img check ran, guest checks skip."""
    gather_facts_or_skip()
    image = make_image(tmp_path / "blank.qcow2", "qcow2", "1G")
    code, report = run_json(capsys, str(image))
    by_id = {f["id"]: f for f in report["findings"]}
    assert by_id["IMG-IMG-006"]["status"] == "pass"
    assert by_id["IMG-IMG-001"]["status"] == "pass"
    assert by_id["IMG-IMG-003"]["status"] == "pass"
    assert by_id["IMG-BOOT-001"]["status"] == "skip"
    assert code == (1 if report["verdict"] == "fail" else 0)


@pytest.mark.appliance
def test_check_after_inspect_reuses_the_cached_facts(capsys, tmp_path):
    """The second look at the same image costs no appliance launch: well under a second."""
    gather = gather_facts_or_skip()
    image = make_image(tmp_path / "cached.qcow2", "qcow2", "1G")
    gather(str(image))
    started = time.monotonic()
    run_json(capsys, str(image))
    elapsed = time.monotonic() - started
    print(f"check with cached facts: {elapsed:.3f} s")
    assert elapsed < 1.0


# -- explain and profiles --

def test_explain_by_id_and_slug(capsys):
    assert main(["explain", "IMG-DRV-001"]) == 0
    by_id = capsys.readouterr().out
    assert main(["explain", "virtio-drivers"]) == 0
    assert capsys.readouterr().out == by_id
    for words in ("virtio-drivers", "why:", "initramfs = ", "update-initramfs", "dracut -f --regenerate-all",
                  "INITRD_MODULES", "docs: https://", "huaweicloud (error)"):
        assert words in by_id


def test_explain_json_and_list(capsys):
    assert main(["explain", "--json", "IMG-NET-002"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["slug"] == "no-udev-net-rules" and info["profiles"]["huaweicloud"] == "error"
    assert main(["explain"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(importlib.import_module("imgtools.checks").CHECKS)
    assert main(["explain", "nope"]) == 2


def test_profiles_lists_the_builtins(capsys):
    assert main(["profiles", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["huaweicloud"]["default"] and rows["huaweicloud"]["preferred_format"] == "qcow2"
    assert rows["azure"]["subformat"] == "fixed" and rows["gce"]["extends"] == "base"
    assert main(["profiles"]) == 0
    assert "huaweicloud *" in capsys.readouterr().out
    assert main(["profiles", "--schema"]) == 0
    assert "IMG-DRV-001" in json.loads(capsys.readouterr().out)["properties"]["checks"]["properties"]


def test_report_formats_offered_are_the_renderers():
    from imgtools.cli.check import REPORT_FORMATS
    from imgtools.report import RENDERERS

    assert sorted(REPORT_FORMATS) == sorted(RENDERERS)


def test_building_the_parser_imports_no_report_code():
    """Every command's start-up builds the whole parser; report code (pydantic models) waits for check."""
    code = "import sys; from imgtools.cli.main import build_parser; build_parser(); print('imgtools.report' in sys.modules)"
    assert fresh_python(code) == "False"
