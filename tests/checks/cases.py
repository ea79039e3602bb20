"""Table-driven check tests: a case is a guest, one change to it, and the expected outcome.

Every catalog module's test file declares ``CASES``; the meta-test in
``test_registry.py`` asserts each registered check has at least one passing
and one failing case, so a check cannot be added without both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from typing import Any, Callable

import pytest

from imgtools.checks.engine import run_check
from imgtools.checks.registry import CHECKS
from imgtools.checks.remedies import family
from imgtools.facts import Facts
from imgtools.profiles import CheckConfig
from imgtools.report.model import Finding


@dataclass(frozen=True)
class Case:
    check_id: str
    expect: str
    build: Callable[[], Facts]
    change: Callable[[Facts], None] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    #: Substrings the finding's message (and remediation) must contain: the evidence, the right fix.
    message: str = ""
    remediation: str = ""


def _step(obj: Any, part: str) -> Any:
    return obj[int(part)] if part.isdigit() else getattr(obj, part)


def setting(path: str, value: Any) -> Callable[[Facts], None]:
    """A change that sets one field, by dotted path (``"boot.firmware"``, ``"facts.linux.kernels.0.version"``)."""
    *parents, name = path.split(".")

    def apply(facts: Facts) -> None:
        setattr(reduce(_step, parents, facts), name, value)

    return apply


def case(check_id: str, expect: str, build: Callable[[], Facts], change=None, *, label: str = "", **kw):
    """One pytest param whose id names the check and the expected status (the meta-test reads them)."""
    test_id = f"{check_id}-{expect}" + (f"-{label}" if label else "")
    return pytest.param(Case(check_id, expect, build, change, **kw), id=test_id)


def run(c: Case) -> Finding:
    facts = c.build()
    if c.change:
        c.change(facts)
    check = CHECKS[c.check_id]
    config = CheckConfig(severity=check.default_severity, params={**check.default_params(), **c.params})
    return run_check(check, config, facts, family(facts))


def verify(c: Case) -> None:
    finding = run(c)
    assert finding.status == c.expect, finding.message
    assert c.message in finding.message
    assert c.remediation in finding.remediation
