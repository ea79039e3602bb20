"""JUnit XML: one testcase per check, so any CI shows the checks like tests.

Failed checks are ``<failure>`` (type = severity), checks that crashed are
``<error>``, skipped and waived checks are ``<skipped>`` (with the reason).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from .model import Report


def render(report: Report) -> str:
    counts = report.counts
    suites = ET.Element("testsuites", name="imgtools check")
    suite = ET.SubElement(
        suites, "testsuite",
        name=f"imgtools check {report.profile}",
        tests=str(len(report.findings)),
        failures=str(counts.get("fail", 0)),
        errors=str(counts.get("error", 0)),
        skipped=str(counts.get("skip", 0) + counts.get("waived", 0)),
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (("image", report.image), ("profile", report.profile), ("verdict", report.verdict),
                        ("fail_on", report.fail_on), ("family", report.family)):
        ET.SubElement(properties, "property", name=name, value=value)
    for finding in report.findings:
        area = finding.id.split("-")[1].lower()
        case = ET.SubElement(suite, "testcase", classname=f"imgtools.{report.profile}.{area}",
                             name=f"{finding.id} {finding.slug}")
        detail = f"{finding.message}\n\nRemediation:\n{finding.remediation}\n\nDocs: {finding.docs}"
        if finding.status == "fail":
            ET.SubElement(case, "failure", message=finding.message, type=finding.severity).text = detail
        elif finding.status == "error":
            ET.SubElement(case, "error", message=finding.message, type="internal").text = finding.message
        elif finding.status == "skip":
            ET.SubElement(case, "skipped", message=finding.message)
        elif finding.status == "waived":
            ET.SubElement(case, "skipped", message=f"waived: {finding.waiver} ({finding.message})")
        else:
            ET.SubElement(case, "system-out").text = finding.message
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
