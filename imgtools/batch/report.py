"""What a batch leaves in its output folder.

* ``<name>.json``: one :class:`~imgtools.batch.jobs.ImageResult` per image, written as
  soon as the image is done (``--resume`` reads them back);
* ``summary.json``: counts by verdict, failure counts per check across the fleet,
  and each image's verdict and failed findings, the most severe first;
* ``junit.xml``: one testsuite per image, one testcase per check, for CI;
* ``report.html``: the same for people, one self-contained page (see :mod:`.html`).

Every file is written to a temporary name and renamed, so none is ever half-written.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..fileio import write_atomically
from ..errors import ImgtoolsError
from ..report import junit
from ..report.model import Report
from .html import render_html
from .jobs import FileIdentity, ImageJob, ImageResult

#: How many failures per image the summary calls its top failures.
TOP_FAILURES = 3
#: Summary keys that depend on when and where the batch ran, not on the images.
TIMING_KEYS = ("started_at", "seconds", "executor")


def result_path(outdir: Path, name: str) -> Path:
    return outdir / f"{name}.json"


def write_result(outdir: Path, result: ImageResult) -> None:
    write_atomically(result_path(outdir, result.name), result.model_dump_json(indent=2) + "\n")


def cached_result(outdir: Path, job: ImageJob) -> ImageResult | None:
    """The result of an earlier run that still holds: same file, unchanged, same settings, not an error."""
    try:
        result = ImageResult.model_validate_json(result_path(outdir, job.name).read_text())
        identity = FileIdentity.of(job.path)
    except (OSError, ValidationError, ImgtoolsError):
        return None
    if result.verdict == "error" or result.key != job.key() or result.identity != identity:
        return None
    return result.model_copy(update={"resumed": True})


def summarize(results: list[ImageResult], **meta: Any) -> dict[str, Any]:
    """The summary document; ``meta`` (manifest, executor, timings…) is copied in."""
    verdicts = Counter(r.verdict for r in results)
    per_check: Counter[str] = Counter()
    titles: dict[str, str] = {}
    for result in results:
        for finding in result.failed_findings():
            per_check[finding["id"]] += 1
            titles.setdefault(finding["id"], finding.get("title") or "")
    return {
        **meta,
        "total": len(results),
        "passed": verdicts["pass"],
        "failed": verdicts["fail"],
        "errors": verdicts["error"],
        "resumed": sum(r.resumed for r in results),
        "profiles": sorted({r.profile for r in results}),
        "check_failures": [
            {"id": check, "title": titles[check], "images": count} for check, count in per_check.most_common()
        ],
        "images": [_image_entry(r) for r in results],
    }


def _image_entry(result: ImageResult) -> dict[str, Any]:
    failed = result.failed_findings()
    return {
        "path": result.path,
        "name": result.name,
        "profile": result.profile,
        "action": result.action,
        "verdict": result.verdict,
        "reason": result.reason,
        "top_failures": [f["id"] for f in failed[:TOP_FAILURES]],
        "findings": [
            {key: f.get(key) for key in ("id", "title", "severity", "status", "message", "remediation")}
            for f in failed
        ],
        "checks": len(result.findings),
        "attempts": result.attempts,
        "resumed": result.resumed,
        "seconds": round(result.seconds, 3),
        "result": result_path(Path(), result.name).name,
    }


def junit_xml(results: list[ImageResult]) -> str:
    """One testsuite per image: ``imgtools check --format junit``'s suite, named after the image.

    An image that could not be checked is one testcase: an ``<error>``, or a
    ``<failure>`` when the image itself is unsafe.
    """
    root = ET.Element("testsuites", name="imgtools batch")
    for result in results:
        if result.report is not None:
            suite = ET.fromstring(junit.render(Report.model_validate(result.report))).find("testsuite")
            suite.set("name", result.name)
        else:
            suite = ET.Element("testsuite", name=result.name, tests="1", skipped="0",
                               failures=str(int(result.verdict == "fail")), errors=str(int(result.verdict != "fail")))
            ET.SubElement(suite, "properties")
            case = ET.SubElement(suite, "testcase", classname=f"imgtools.{result.profile}", name=result.action)
            ET.SubElement(case, "failure" if result.verdict == "fail" else "error",
                          message=result.reason or result.verdict).text = result.reason
        suite.set("time", f"{result.seconds:.3f}")
        ET.SubElement(suite.find("properties"), "property", name="path", value=result.path)
        root.append(suite)
    for key in ("tests", "failures", "errors"):
        root.set(key, str(sum(int(suite.get(key)) for suite in root)))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_reports(outdir: Path, results: list[ImageResult], *, fail_on: str, **meta: Any) -> dict[str, Any]:
    """Write summary.json, junit.xml and report.html; return the summary."""
    summary = summarize(results, fail_on=fail_on, **meta)
    write_atomically(outdir / "summary.json", json.dumps(summary, indent=2) + "\n")
    write_atomically(outdir / "junit.xml", junit_xml(results))
    write_atomically(outdir / "report.html", render_html(summary, results))
    return summary
