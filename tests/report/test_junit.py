"""imgtools.report.junit: one testcase per check, parsed back with an XML parser."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from imgtools.report import junit

from .sample_report import mixed_report


def test_junit_has_one_testcase_per_check_and_failures_as_failures():
    report = mixed_report()
    root = ET.fromstring(junit.render(report))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == len(report.findings) == int(suite.get("tests"))
    by_id = {case.get("name").split()[0]: case for case in cases}
    virtio = by_id["IMG-DRV-001"]
    assert virtio.get("classname") == "imgtools.huaweicloud.drv"
    failure = virtio.find("failure")
    assert failure.get("type") == "error" and "virtio_blk on disk but not in" in failure.get("message")
    assert "update-initramfs" in failure.text
    assert by_id["IMG-SW-005"].find("failure").get("type") == "warning"
    assert by_id["IMG-DRV-004"].find("error") is not None
    assert "waived: rules removed" in by_id["IMG-NET-002"].find("skipped").get("message")
    assert by_id["IMG-WIN-001"].find("skipped") is not None
    assert by_id["IMG-NET-001"].find("failure") is None and by_id["IMG-NET-001"].find("skipped") is None
    assert int(suite.get("failures")) == report.counts["fail"]
    assert int(suite.get("errors")) == report.counts["error"] >= 1
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["verdict"] == "fail" and props["image"] == report.image
