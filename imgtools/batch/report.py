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

from ..cli.output import write_atomically
from ..errors import ImgtoolsError
from ..report.model import FAILING, SEVERITY_RANK
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


def junit_xml(results: list[ImageResult], fail_on: str) -> str:
    """One testsuite per image, one testcase per check.

    A failed check at or above ``fail_on`` is a ``<failure>``; below it, a pass
    with the finding in ``<system-out>``; skipped and waived checks are
    ``<skipped>``; an image that could not be checked is one ``<error>`` (or one
    ``<failure>`` when the image itself is unsafe).
    """
    root = ET.Element("testsuites", name="imgtools batch")
    totals: Counter[str] = Counter()
    for result in results:
        suite = ET.SubElement(root, "testsuite", name=result.name, time=f"{result.seconds:.3f}")
        props = ET.SubElement(suite, "properties")
        for key in ("path", "profile", "action", "verdict"):
            ET.SubElement(props, "property", name=key, value=str(getattr(result, key)))
        counts: Counter[str] = Counter()
        if result.report is None:
            case = ET.SubElement(suite, "testcase", classname=result.name, name=result.action)
            kind = "failure" if result.verdict == "fail" else "error"
            ET.SubElement(case, kind, message=result.reason or result.verdict).text = result.reason
            counts["tests"] += 1
            counts[f"{kind}s"] += 1
        for finding in result.findings:
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", classname=result.name,
                                 name=" ".join(filter(None, (finding.get("id"), finding.get("title")))))
            status = finding.get("status")
            detail = "\n".join(filter(None, (finding.get("message"), finding.get("remediation"))))
            if status in FAILING and SEVERITY_RANK.get(finding.get("severity", "error"), 2) >= SEVERITY_RANK[fail_on]:
                kind = "failure" if status == "fail" else "error"
                ET.SubElement(case, kind, message=finding.get("message") or "", type=finding.get("severity", "")).text = detail
                counts[f"{kind}s"] += 1
            elif status in ("skip", "waived"):
                ET.SubElement(case, "skipped", message=f"{status}: {finding.get('message') or ''}")
                counts["skipped"] += 1
            elif status in FAILING:
                ET.SubElement(case, "system-out").text = f"{finding.get('severity')}: {detail}"
        for key in ("tests", "failures", "errors", "skipped"):
            suite.set(key, str(counts[key]))
            totals[key] += counts[key]
    for key in ("tests", "failures", "errors"):
        root.set(key, str(totals[key]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_reports(outdir: Path, results: list[ImageResult], *, fail_on: str, **meta: Any) -> dict[str, Any]:
    """Write summary.json, junit.xml and report.html; return the summary."""
    summary = summarize(results, fail_on=fail_on, **meta)
    write_atomically(outdir / "summary.json", json.dumps(summary, indent=2) + "\n")
    write_atomically(outdir / "junit.xml", junit_xml(results, fail_on))
    write_atomically(outdir / "report.html", render_html(summary, results))
    return summary
