"""The report of one ``check`` run: findings in, verdict out.  Its JSON is a public contract."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["error", "warning", "info"]
Status = Literal["pass", "fail", "skip", "waived", "error"]

#: Order of severities, for ``--fail-on`` and for sorting.
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}
SEVERITIES = ("error", "warning", "info")
STATUSES = ("pass", "fail", "skip", "waived", "error")
#: Statuses that count against the verdict (``error`` is a check that crashed).
FAILING = ("fail", "error")


class Finding(BaseModel):
    """The result of one check on one image."""

    model_config = ConfigDict(extra="forbid")

    id: str
    slug: str
    severity: Severity
    status: Status
    title: str
    #: The evidence: what was found, where.
    message: str
    #: The fix for the guest's family (Debian, RHEL, SUSE, Windows) or the generic one.
    remediation: str
    docs: str
    #: Why a failure was accepted (``--waive ID:reason``); set only for waived findings.
    waiver: str | None = None

    @property
    def counts_against(self) -> bool:
        return self.status in FAILING


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: str
    profile: str
    fail_on: Severity = "error"
    verdict: Literal["pass", "fail"]
    #: The guest family the remediations were written for: debian, rhel, suse, windows or any.
    family: str = "any"
    counts: dict[str, int] = Field(default_factory=dict)
    findings: list[Finding] = Field(default_factory=list)
    imgtools_version: str = ""

    @classmethod
    def build(cls, *, image: str, profile: str, findings: list[Finding], fail_on: Severity = "error",
              family: str = "any", imgtools_version: str = "") -> "Report":
        """A report whose verdict and counts follow from the findings."""
        threshold = SEVERITY_RANK[fail_on]
        failing = any(f.counts_against and SEVERITY_RANK[f.severity] >= threshold for f in findings)
        counts = {status: sum(f.status == status for f in findings) for status in STATUSES}
        return cls(
            image=image, profile=profile, fail_on=fail_on, verdict="fail" if failing else "pass",
            family=family, counts=counts, findings=findings, imgtools_version=imgtools_version,
        )

    def blocking(self) -> list[Finding]:
        """Findings that made the verdict fail."""
        threshold = SEVERITY_RANK[self.fail_on]
        return [f for f in self.findings if f.counts_against and SEVERITY_RANK[f.severity] >= threshold]
