"""imgtools.report.model: verdict, counts and the JSON contract."""

from __future__ import annotations

import json

from imgtools.report.model import Finding, Report

from .sample_report import mixed_report


def _finding(severity: str, status: str) -> Finding:
    return Finding(id="IMG-IMG-001", slug="format-importable", severity=severity, status=status, title="t",
                   message="m", remediation="r", docs="https://example.org")


def test_verdict_follows_fail_on():
    warning_failed = [_finding("error", "pass"), _finding("warning", "fail"), _finding("info", "fail")]
    assert Report.build(image="i", profile="p", findings=warning_failed).verdict == "pass"
    assert Report.build(image="i", profile="p", findings=warning_failed, fail_on="warning").verdict == "fail"
    crashed = [_finding("error", "error")]
    assert Report.build(image="i", profile="p", findings=crashed).verdict == "fail"
    waived = [_finding("error", "waived")]
    assert Report.build(image="i", profile="p", findings=waived).verdict == "pass"


def test_json_contract():
    report = mixed_report()
    data = json.loads(report.model_dump_json())
    assert {"profile", "verdict", "findings", "fail_on", "counts", "image"} <= set(data)
    assert data["profile"] == "huaweicloud" and data["verdict"] == "fail"
    assert set(data["counts"]) == {"pass", "fail", "skip", "waived", "error"}
    assert sum(data["counts"].values()) == len(data["findings"])
    for finding in data["findings"]:
        assert {"id", "slug", "severity", "status", "title", "message", "remediation", "docs"} <= set(finding)
        assert finding["severity"] in ("error", "warning", "info")
        assert finding["status"] in ("pass", "fail", "skip", "waived", "error")
    waived = next(f for f in data["findings"] if f["status"] == "waived")
    assert waived["waiver"] == "rules removed by our first-boot script"
    assert Report.model_validate_json(report.model_dump_json()) == report
