"""Reports from synthetic results: summary contract, JUnit, and the HTML page in a real browser."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from imgtools.batch.jobs import ImageResult
from imgtools.batch.report import junit_xml, summarize, write_reports
from imgtools.report.model import Finding, Report
from tests.batch.chromium import open_page


def finding(id, status, severity="error"):
    return Finding(id=id, slug=id.lower(), title=f"title of {id}", severity=severity, status=status,
                   message=f"{id} is {status}", remediation=f"fix {id}:\n  run this", docs="https://docs.example")


def result(name, verdict, findings=None, reason=None, fail_on="error"):
    report = None if findings is None else Report.build(image=f"/images/{name}", profile="huaweicloud",
                                                        findings=findings, fail_on=fail_on)
    return ImageResult(path=f"/images/{name}", name=name, profile="huaweicloud", action="check", verdict=verdict,
                       reason=reason, report=report and report.model_dump(mode="json"), key="k", seconds=1.5)


def fleet() -> list[ImageResult]:
    return [
        result("ok.qcow2", "pass", [finding("IMG-A", "pass"), finding("IMG-W", "fail", "warning"),
                                    finding("IMG-S", "skip"), finding("IMG-V", "waived"),
                                    finding("IMG-I", "fail", "info")]),  # a note, not a failure
        result("bad.vmdk", "fail", [finding("IMG-W", "fail", "warning"), finding("IMG-A", "fail"),
                                    finding("IMG-B", "error")]),
        result("worse.vhd", "fail", [finding("IMG-A", "fail"), finding("IMG-B", "pass")]),
        result("gone.raw", "error", reason="/images/gone.raw: no such file"),
        result("evil</script><b>.img", "fail", reason="unsafe image: backing-file <script>alert(1)</script>"),
    ]


def test_summary_contract_and_fleet_counts():
    summary = summarize(fleet(), manifest="m.yaml")
    assert (summary["total"], summary["passed"], summary["failed"], summary["errors"]) == (5, 1, 3, 1)
    assert summary["manifest"] == "m.yaml"
    assert summary["check_failures"] == [
        {"id": "IMG-W", "title": "title of IMG-W", "images": 2},
        {"id": "IMG-A", "title": "title of IMG-A", "images": 2},
        {"id": "IMG-B", "title": "title of IMG-B", "images": 1},
    ]
    by_name = {image["name"]: image for image in summary["images"]}
    bad = by_name["bad.vmdk"]
    assert bad["verdict"] == "fail" and bad["path"] == "/images/bad.vmdk"
    # failed findings, the most severe first, each with its id
    assert [f["id"] for f in bad["findings"]] == ["IMG-A", "IMG-B", "IMG-W"]
    assert bad["top_failures"] == ["IMG-A", "IMG-B", "IMG-W"]
    assert [f["id"] for f in by_name["ok.qcow2"]["findings"]] == ["IMG-W"]  # the warning; the info is a note
    assert by_name["gone.raw"] == {**by_name["gone.raw"], "verdict": "error", "reason": "/images/gone.raw: no such file",
                                   "findings": []}


def test_junit_has_a_suite_per_image_and_a_case_per_check():
    root = ET.fromstring(junit_xml(fleet()))
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert len(suites) == 5
    bad = suites["bad.vmdk"]
    assert (bad.get("tests"), bad.get("failures"), bad.get("errors")) == ("3", "2", "1")
    assert {p.get("name"): p.get("value") for p in bad.iter("property")}["path"] == "/images/bad.vmdk"
    cases = {c.get("name").split()[0]: c for c in bad.iter("testcase")}
    assert "fix IMG-A:\n  run this" in cases["IMG-A"].find("failure").text
    assert cases["IMG-B"].find("error") is not None
    ok = suites["ok.qcow2"]
    assert (ok.get("tests"), ok.get("skipped")) == ("5", "2")
    gone = suites["gone.raw"]
    assert gone.find("testcase/error").get("message") == "/images/gone.raw: no such file"
    assert suites["evil</script><b>.img"].find("testcase/failure") is not None  # unsafe: the image failed
    assert root.get("tests") == str(sum(int(s.get("tests")) for s in suites.values()))


def test_reports_are_written_whole(tmp_path):
    summary = write_reports(tmp_path, fleet(), fail_on="error", manifest="m.yaml")
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    ET.parse(tmp_path / "junit.xml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml", "report.html", "summary.json"]


def test_html_renders_every_image_and_failure_in_chromium(tmp_path):
    write_reports(tmp_path, fleet(), fail_on="error", manifest="m.yaml")
    page = tmp_path / "report.html"
    html = page.read_text()
    assert "http://" not in html and "https://" not in html and "<link" not in html  # nothing fetched
    dom, console = open_page(page, tmp_path / "chromium")
    assert console == []
    assert 'data-rendered="yes"' in dom
    for r in fleet():
        assert f'data-image="{r.name}"'.replace("<", "&lt;").replace(">", "&gt;") in dom
    # the default finding filter shows the failed checks, with their remediation
    assert dom.count("data-finding=") == 5
    assert "fix IMG-A:\n  run this" in dom
    assert "<script>alert(1)" not in dom  # hostile text stays text
    assert "<svg" in dom and "title of IMG-W" in dom  # the failure chart


def test_info_failures_count_only_at_fail_on_info():
    notes = [finding("IMG-I", "fail", "info"), finding("IMG-W", "fail", "warning")]
    assert [f["id"] for f in result("a", "pass", notes).failed_findings()] == ["IMG-W"]
    assert [f["id"] for f in result("a", "fail", notes, fail_on="info").failed_findings()] == ["IMG-W", "IMG-I"]
