"""What a check is, and the one explicit registry of every check imgtools has.

A check is a declared, frozen object: its identity (a stable id that never
changes meaning, a slug), how bad a failure is by default, why it matters, how
to fix it for each guest family, where the platform documents it, and a pure
function of the facts document.  Profiles select checks and set severities and
parameters; :mod:`imgtools.checks.engine` runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Literal, Mapping

from ..facts import Facts
from ..units import SIZE_PATTERN
from ..report.model import Severity

AppliesTo = Literal["image", "linux", "windows", "any"]

#: Guest families a remediation can be written for; ``any`` is the fallback.
FAMILIES = ("debian", "rhel", "suse", "windows", "any")


@dataclass(frozen=True)
class Outcome:
    """What one check concluded, with the evidence in ``message``."""

    status: Literal["pass", "fail", "skip"]
    message: str


def passed(message: str) -> Outcome:
    return Outcome("pass", message)


def failed(message: str) -> Outcome:
    return Outcome("fail", message)


def skipped(message: str) -> Outcome:
    return Outcome("skip", message)


@dataclass(frozen=True)
class Param:
    """A tunable of a check: its default, a JSON schema for profiles, and what it means."""

    default: Any
    schema: Mapping[str, Any]
    help: str


@dataclass(frozen=True)
class Check:
    id: str
    slug: str
    title: str
    default_severity: Severity
    applies_to: AppliesTo
    rationale: str
    #: Family (see :data:`FAMILIES`) -> exact commands.  ``any`` is required.
    remediation: Mapping[str, str]
    docs: str
    evaluate: Callable[[Facts, Mapping[str, Any]], Outcome]
    params: Mapping[str, Param] = field(default_factory=dict)

    @property
    def area(self) -> str:
        """The catalog area, from the id: ``IMG-BOOT-003`` -> ``boot``."""
        return self.id.split("-")[1].lower()

    def default_params(self) -> dict[str, Any]:
        return {name: param.default for name, param in self.params.items()}

    def remediation_for(self, family: str) -> str:
        """The fix written for the guest's family, else the generic one."""
        return self.remediation.get(family) or self.remediation["any"]


# -- size parameters ("128 GiB" or bytes) --

#: JSON schema of a size parameter (read-only by convention).
SIZE_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"type": "integer", "minimum": 0},
        {"type": "string", "pattern": SIZE_PATTERN},
    ]
}


def size_param(default: str, help: str) -> Param:
    return Param(default, SIZE_SCHEMA, help)


def list_param(default: list[str], help: str) -> Param:
    return Param(default, {"type": "array", "items": {"type": "string"}}, help)


# -- the registry --

from . import boot, drivers, filesystems, ims, image, network, software, windows  # noqa: E402

#: Every check, in report order.  The one place a check becomes known.
CHECKS: Mapping[str, Check] = MappingProxyType({
    check.id: check
    for module in (image, boot, drivers, network, filesystems, software, windows, ims)
    for check in module.CHECKS
})

_BY_SLUG = {check.slug: check for check in CHECKS.values()}


def get_check(id_or_slug: str) -> Check | None:
    """A check by id (case-insensitive) or slug."""
    return CHECKS.get(id_or_slug.upper()) or _BY_SLUG.get(id_or_slug.lower())
