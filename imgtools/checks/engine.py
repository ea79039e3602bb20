"""Run a profile's checks over a facts document: a pure function from facts to report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import __version__
from ..errors import UsageError
from ..facts import Facts
from ..report.model import Finding, Report, Severity
from .registry import CHECKS, Check, Outcome, get_check, skipped
from .remedies import family

if TYPE_CHECKING:
    from ..profiles import CheckConfig, Profile


def _not_applicable(check: Check, facts: Facts) -> Outcome | None:
    """Why ``check`` cannot run on this image, or None when it can."""
    if check.applies_to == "image":
        return None
    if facts.guest is None:
        why = "the image is unsafe and was not opened" if not facts.image.safe else "the guest was not inspected"
        return skipped(f"{why}; guest checks skip")
    if check.applies_to == "linux" and (facts.guest.type != "linux" or facts.facts.linux is None):
        return skipped(f"not a Linux guest ({facts.guest.type})")
    if check.applies_to == "windows" and (facts.guest.type != "windows" or facts.facts.windows is None):
        return skipped(f"not a Windows guest ({facts.guest.type})")
    return None


def run_check(check: Check, config: "CheckConfig", facts: Facts, guest_family: str,
              waiver: str | None = None) -> Finding:
    """One finding; a check that raises becomes a finding with status ``error``, never an exception."""
    try:
        outcome = _not_applicable(check, facts) or check.evaluate(facts, config.params)
        status, message = outcome.status, outcome.message
    except Exception as exc:  # a bug in one check must not hide the others' findings
        status, message = "error", f"internal error in check {check.id}: {type(exc).__name__}: {exc}"
    if waiver is not None and status in ("fail", "error"):
        status = "waived"
    return Finding(
        id=check.id,
        slug=check.slug,
        severity=config.severity,
        status=status,
        title=check.title,
        message=message,
        remediation=check.remediation_for(guest_family),
        docs=check.docs,
        waiver=waiver if status == "waived" else None,
    )


def resolve_waivers(waivers: dict[str, str] | None) -> dict[str, str]:
    """Waivers keyed by check id; ids or slugs are accepted, anything else is a usage error."""
    resolved = {}
    for key, reason in (waivers or {}).items():
        check = get_check(key)
        if check is None:
            raise UsageError(f"cannot waive {key!r}: no such check ('imgtools explain' lists them)")
        resolved[check.id] = reason or "waived without a reason"
    return resolved


def evaluate(facts: Facts, profile: "Profile", waivers: dict[str, str] | None = None,
             fail_on: Severity = "error") -> Report:
    """The report of ``profile``'s checks on ``facts``; waived failures stay in it, marked waived."""
    waived = resolve_waivers(waivers)
    guest_family = family(facts)
    findings = [
        run_check(CHECKS[check_id], config, facts, guest_family, waived.get(check_id))
        for check_id, config in profile.checks.items()
    ]
    return Report.build(
        image=facts.image.path, profile=profile.name, findings=findings, fail_on=fail_on,
        family=guest_family, imgtools_version=__version__,
    )
