"""SARIF 2.1.0: the report as static-analysis results, for code-scanning dashboards.

Rules come from the check catalog (with the rationale and every family's fix
as help); each finding is a result whose location is the image file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .. import __version__
from ..checks.registry import CHECKS
from .model import Finding, Report

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVEL = {"error": "error", "warning": "warning", "info": "note"}
KIND = {"pass": "pass", "fail": "fail", "error": "fail", "waived": "fail", "skip": "notApplicable"}
FAMILY_TITLE = {"debian": "Debian/Ubuntu", "rhel": "RHEL/CentOS/EulerOS", "suse": "SUSE", "windows": "Windows",
                "any": "Any guest"}


def _rule(check_id: str, severity: str) -> dict:
    check = CHECKS[check_id]
    fixes = "\n\n".join(f"{FAMILY_TITLE[family]}:\n{text}" for family, text in check.remediation.items())
    return {
        "id": check.id,
        "name": check.slug,
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": check.rationale},
        "help": {"text": f"{check.rationale}\n\nRemediation:\n{fixes}"},
        "helpUri": check.docs,
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": {"applies_to": check.applies_to, "default_severity": check.default_severity},
    }


def _result(finding: Finding, rule_index: int, uri: str) -> dict:
    result = {
        "ruleId": finding.id,
        "ruleIndex": rule_index,
        "kind": KIND[finding.status],
        "level": LEVEL[finding.severity] if KIND[finding.status] == "fail" else "none",
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri, "index": 0}}}],
        "properties": {"status": finding.status, "severity": finding.severity, "remediation": finding.remediation},
    }
    if finding.status == "waived":
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": finding.waiver or ""}]
    return result


def render(report: Report) -> str:
    uri = Path(os.path.abspath(report.image)).as_uri()
    rules = [_rule(f.id, f.severity) for f in report.findings]
    run = {
        "tool": {"driver": {
            "name": "imgtools",
            "version": __version__,
            "rules": rules,
        }},
        "artifacts": [{"location": {"uri": uri}, "roles": ["analysisTarget"]}],
        "invocations": [{"executionSuccessful": True}],
        "results": [_result(f, i, uri) for i, f in enumerate(report.findings)],
        "properties": {"profile": report.profile, "verdict": report.verdict, "fail_on": report.fail_on},
    }
    return json.dumps({"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"
