"""`imgtools batch` end to end on real images: good, hostile, corrupt and missing ones together."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import psutil
import pytest

from imgtools.batch import load_manifest, make_executor, run_batch
from imgtools.cli.main import main
from tests.batch.chromium import open_page
from tests.batch.conftest import EXPECTED_BAD

GOOD = ("good.qcow2", "good.raw")


@pytest.fixture(scope="module")
def fleet_run(fleet, tmp_path_factory):
    """The fleet batch, run once through the CLI: (the finished process, OUTDIR)."""
    outdir = tmp_path_factory.mktemp("out")
    proc = subprocess.run([sys.executable, "-m", "imgtools.cli.main", "batch", str(fleet), "-o", str(outdir),
                           "--format", "json"], capture_output=True, text=True, timeout=900)
    return proc, outdir


@pytest.mark.appliance
def test_every_image_gets_its_row_and_the_batch_finishes(fleet_run):
    proc, outdir = fleet_run
    assert proc.returncode == 1, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary == json.loads((outdir / "summary.json").read_text())
    rows = {Path(image["path"]).name: image for image in summary["images"]}
    assert list(rows) == ["good.qcow2", "good.raw", "hostile.qcow2", "corrupt.qcow2", "missing.vmdk"]
    assert summary["total"] == 5
    assert summary["passed"] + summary["failed"] + summary["errors"] == 5
    for name in GOOD:  # a real verdict from the checks, not an error
        assert rows[name]["verdict"] in ("pass", "fail"), rows[name]
        assert rows[name]["reason"] is None
        assert rows[name]["checks"] > 0
        assert all("id" in f for f in rows[name]["findings"])
    for name, verdicts in EXPECTED_BAD.items():
        row = rows[name]
        assert row["verdict"] in verdicts, row
        assert row["reason"] or row["findings"], row  # it says why
    assert "no such file" in rows["missing.vmdk"]["reason"]
    hostile = rows["hostile.qcow2"]
    assert "backing" in json.dumps(hostile).lower()
    for name in rows:  # one result document per image
        result = json.loads((outdir / f"{name}.json").read_text())
        assert result["verdict"] == rows[name]["verdict"]


@pytest.mark.appliance
def test_junit_has_one_suite_per_image(fleet_run):
    _, outdir = fleet_run
    root = ET.parse(outdir / "junit.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert sorted(suites) == sorted(["good.qcow2", "good.raw", "hostile.qcow2", "corrupt.qcow2", "missing.vmdk"])
    assert suites["missing.vmdk"].find("testcase/error") is not None
    assert int(suites["good.qcow2"].get("tests")) > 1  # one testcase per check


@pytest.mark.appliance
def test_report_html_shows_every_image_in_chromium(fleet_run, tmp_path):
    _, outdir = fleet_run
    dom, console = open_page(outdir / "report.html", tmp_path / "chromium")
    assert console == []
    assert 'data-rendered="yes"' in dom
    for name in ["good.qcow2", "good.raw", "hostile.qcow2", "corrupt.qcow2", "missing.vmdk"]:
        assert f'data-image="{name}"' in dom


@pytest.mark.appliance
def test_resume_skips_what_still_holds(fleet, fleet_run, tmp_path):
    _, outdir = fleet_run
    rerun = tmp_path / "out"
    subprocess.run(["cp", "-a", f"{outdir}/.", str(rerun)], check=True)
    os.utime(fleet.parent / "hostile.qcow2")  # a new mtime: no longer the same file (and no appliance to re-run)
    assert main(["batch", str(fleet), "-o", str(rerun), "--resume", "--json"]) == 1
    summary = json.loads((rerun / "summary.json").read_text())
    resumed = {image["name"]: image["resumed"] for image in summary["images"]}
    assert resumed["good.qcow2"] is resumed["good.raw"] is resumed["corrupt.qcow2"] is True
    assert resumed["hostile.qcow2"] is False
    assert resumed["missing.vmdk"] is False  # errors are tried again
    assert summary["resumed"] == sum(resumed.values())
    # other settings, other results: nothing is resumed
    assert main(["batch", str(fleet), "-o", str(rerun), "--resume", "--fail-on", "warning", "--json"]) == 1
    assert json.loads((rerun / "summary.json").read_text())["resumed"] == 0


@pytest.mark.appliance
def test_a_worker_killed_mid_run_is_reported_and_the_batch_completes(fleet, tmp_path):
    manifest = load_manifest(fleet, retries=0)
    killed = []

    def kill_the_first_good_one(job, pid):
        if job.name == "good.qcow2":
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    outcome = run_batch(manifest, tmp_path, make_executor("local", 2), on_start=kill_the_first_good_one)
    rows = {image["name"]: image for image in outcome.summary["images"]}
    assert killed and not psutil.pid_exists(killed[0])
    assert rows["good.qcow2"]["verdict"] == "error"
    assert "killed by SIGKILL" in rows["good.qcow2"]["reason"]
    assert rows["good.raw"]["verdict"] in ("pass", "fail")  # the others went on
    assert outcome.summary["total"] == 5 and not outcome.interrupted


def test_images_past_the_timeout_are_stopped_and_reported(fleet, tmp_path, capsys):
    assert main(["batch", str(fleet), "-o", str(tmp_path), "--timeout", "0.05"]) == 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["errors"] == 5
    assert all("did not finish within 0.05 s" in image["reason"] for image in summary["images"])
    out = capsys.readouterr().out
    assert "5 images: 0 passed, 0 failed, 5 errors" in out


@pytest.mark.appliance
def test_ctrl_c_stops_the_workers_and_writes_the_partial_summary(fleet, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "imgtools.cli.main", "batch", str(fleet), "-o", str(tmp_path),
                             "-j", "1", "--timeout", "600"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers = []
    deadline = time.monotonic() + 60
    while not workers and time.monotonic() < deadline:  # wait until a worker process runs
        workers = [p for p in psutil.Process(proc.pid).children(recursive=True)
                   if "imgtools.batch.worker" in " ".join(p.cmdline())]
        time.sleep(0.05)
    assert workers, "no worker process started"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["total"] == 5
    assert any("interrupted" in (image["reason"] or "") for image in summary["images"])
    assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)


@pytest.mark.parametrize("text, words", [
    ("images: [a.raw]\nbogus: 1\n", "m.yaml:2: "),
    ("images: ['*.nothing']\n", "matches no file"),
])
def test_a_bad_manifest_is_one_line_and_exit_2(tmp_path, capsys, text, words):
    (tmp_path / "m.yaml").write_text(text)
    assert main(["batch", str(tmp_path / "m.yaml"), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("imgtools batch: ") and words in err and "\n" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("options, words", [
    (["--executor", "slurm://x"], "unknown executor"),
    (["--timeout", "0"], "--timeout must be a positive number"),
    (["-j", "0"], "-j must be at least 1"),
])
def test_bad_options_are_usage_errors(fleet, tmp_path, capsys, options, words):
    assert main(["batch", str(fleet), "-o", str(tmp_path / "out"), *options]) == 2
    assert words in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.appliance
def test_guest_images_get_the_verdicts_of_their_drivers(tmp_path):
    guests = pytest.importorskip("fixtures.guests")
    images = guests.build(["debian-virtio", "ubuntu-novirtio"])
    manifest = tmp_path / "guests.yaml"
    manifest.write_text("profile: huaweicloud\nimages:\n" + "".join(f"  - {p}\n" for p in images.values()))
    main(["batch", str(manifest), "-o", str(tmp_path / "out"), "-j", "2", "--json"])
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    rows = {Path(image["path"]).name.split("-")[0]: image for image in summary["images"]}
    assert {row["verdict"] for row in rows.values()} <= {"pass", "fail"}, rows
    failed = {name: {f["id"] for f in row["findings"]} for name, row in rows.items()}
    assert "IMG-DRV-001" in failed["ubuntu"]  # no virtio in its initramfs
    assert "IMG-DRV-001" not in failed["debian"]
    ubuntu = json.loads((tmp_path / "out" / f"{rows['ubuntu']['name']}.json").read_text())
    virtio = next(f for f in ubuntu["report"]["findings"] if f["id"] == "IMG-DRV-001")
    assert "update-initramfs" in virtio["remediation"]  # the fix of its own family


@pytest.mark.appliance
def test_a_terminal_gets_a_live_progress_line(fleet, tmp_path):
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "imgtools.cli.main", "batch", str(fleet), "-o", str(tmp_path),
                             "-j", "1"], stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=600)
    os.close(master)
    text = seen.decode()
    assert "\r\033[Kbatch: " in text and "in flight" in text  # redrawn in place
    assert re.search(r"batch: 5/5 done, \d failed, \d errors, 0 in flight\r\n$", text)  # the last state stays


def test_prepare_jobs_write_their_manifest_under_outdir(fleet, tmp_path):
    manifest = tmp_path / "prepare.yaml"
    manifest.write_text(f"action: prepare\noptions: {{format: qcow2}}\nimages: [{fleet.parent / 'hostile.qcow2'}]\n")
    assert main(["batch", str(manifest), "-o", str(tmp_path / "out"), "--json"]) == 1
    result = json.loads((tmp_path / "out" / "hostile.qcow2.json").read_text())
    assert (result["action"], result["verdict"]) == ("prepare", "fail")
    assert result["output"]["output"] is None  # blocked: no image produced, but the manifest says why
    assert result["report"]["verdict"] == "fail"
    written = json.loads((tmp_path / "out" / "images" / "hostile.manifest.json").read_text())
    assert written["report"] == result["report"]
    assert not list((tmp_path / "out" / "images").glob("*.qcow2"))
