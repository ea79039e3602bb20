"""The report for people: grouped by severity, the fix under each failure, one summary line."""

from __future__ import annotations

import textwrap

from .model import SEVERITIES, Finding, Report

#: Status -> (label, ANSI colour).
STATUS_STYLE = {
    "fail": ("FAIL", "31"),
    "error": ("ERROR", "35"),
    "waived": ("WAIVED", "33"),
    "pass": ("pass", "32"),
    "skip": ("skip", "2"),
}
#: Within a severity group: what needs attention first.
STATUS_ORDER = ("fail", "error", "waived", "pass", "skip")
INDENT = " " * 10
#: This many skips with one reason are shown as one line.
FOLD_AT = 3


def _paint(text: str, code: str, color: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if color else text


def _finding(finding: Finding, color: bool) -> list[str]:
    label, code = STATUS_STYLE[finding.status]
    lines = [f"  {_paint(f'{label:<7}', code, color)} {finding.id} {finding.slug}: {finding.message}"]
    if finding.status == "waived":
        lines.append(f"{INDENT}waived: {finding.waiver}")
    if finding.status in ("fail", "waived"):
        lines.append(f"{INDENT}fix:")
        lines.extend(textwrap.indent(finding.remediation, INDENT + "  ").splitlines())
        lines.append(f"{INDENT}docs: {finding.docs}")
    return lines


def _fold_skips(group: list[Finding]) -> list[Finding]:
    """Skips with the same reason (say, 20 guest checks of an unsafe image) shown as one line."""
    by_reason: dict[str, list[Finding]] = {}
    for finding in group:
        if finding.status == "skip":
            by_reason.setdefault(finding.message, []).append(finding)
    folded, shown = [], set()
    for finding in group:
        same = by_reason.get(finding.message, []) if finding.status == "skip" else []
        if len(same) < FOLD_AT:
            folded.append(finding)
        elif finding.message not in shown:
            shown.add(finding.message)
            ids = ", ".join(f.id for f in same)
            folded.append(finding.model_copy(update={"id": f"{len(same)} checks", "slug": f"({ids})"}))
    return folded


def summary(report: Report) -> str:
    blocking = report.blocking()
    counts = report.counts
    parts = [f"{counts.get(s, 0)} {word}" for s, word in
             (("fail", "failed"), ("error", "errors"), ("waived", "waived"), ("pass", "passed"), ("skip", "skipped"))]
    why = f"{len(blocking)} at or above {report.fail_on}; " if blocking else ""
    return f"verdict: {report.verdict.upper()} ({why}{', '.join(parts)}) — profile {report.profile}"


def render(report: Report, *, color: bool = False) -> str:
    lines = [f"imgtools check {report.image} against profile {report.profile} "
             f"(fixes for the {report.family} family)"]
    for severity in SEVERITIES:
        group = sorted((f for f in report.findings if f.severity == severity), key=lambda f: STATUS_ORDER.index(f.status))
        if not group:
            continue
        lines += ["", _paint(severity.upper(), "1", color)]
        for finding in _fold_skips(group):
            lines += _finding(finding, color)
    verdict_code = "31;1" if report.verdict == "fail" else "32;1"
    lines += ["", _paint(summary(report), verdict_code, color)]
    return "\n".join(lines) + "\n"
