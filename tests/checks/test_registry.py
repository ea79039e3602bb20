"""The catalog itself: every registered check is complete, and has a passing and a failing test."""

from __future__ import annotations

import re

import jsonschema
import pytest

from imgtools.checks.registry import CHECKS, FAMILIES, get_check
from imgtools.units import parse_size

from . import test_boot, test_drivers, test_filesystems, test_image, test_ims, test_network, test_software, test_windows

CASE_MODULES = (test_image, test_boot, test_drivers, test_network, test_filesystems, test_software, test_windows,
                test_ims)
ALL_CASES = [param.values[0] for module in CASE_MODULES for param in module.CASES]


@pytest.mark.parametrize("check_id", list(CHECKS))
def test_every_check_has_a_passing_and_a_failing_test(check_id):
    tested = {c.expect for c in ALL_CASES if c.check_id == check_id}
    assert {"pass", "fail"} <= tested, f"{check_id} needs a 'pass' and a 'fail' case in tests/checks/test_*.py"


@pytest.mark.parametrize("check", list(CHECKS.values()), ids=list(CHECKS))
def test_every_check_is_fully_declared(check):
    assert re.fullmatch(r"IMG-(IMG|BOOT|DRV|NET|FS|SW|WIN|IMS)-\d{3}", check.id)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", check.slug)
    assert check.default_severity in ("error", "warning", "info")
    assert check.applies_to in ("image", "linux", "windows", "any")
    assert check.title and check.rationale
    assert check.docs.startswith("https://")
    assert check.remediation.get("any"), "a generic remediation is the fallback for unknown guests"
    assert set(check.remediation) <= set(FAMILIES)
    for name, param in check.params.items():
        jsonschema.Draft7Validator.check_schema(dict(param.schema))
        jsonschema.validate(param.default, dict(param.schema))
        assert param.help, f"{check.id} parameter {name} needs a help text"


def test_ids_and_slugs_are_unique_and_resolvable():
    slugs = [c.slug for c in CHECKS.values()]
    assert len(set(slugs)) == len(slugs)
    assert get_check("virtio-drivers").id == "IMG-DRV-001"
    assert get_check("img-drv-001").slug == "virtio-drivers"
    assert get_check("no-such-check") is None


def test_the_catalog_covers_every_area():
    assert {c.area for c in CHECKS.values()} == {"img", "boot", "drv", "net", "fs", "sw", "win", "ims"}


@pytest.mark.parametrize("text, size", [(1024, 1024), ("128GiB", 128 << 30), ("40GB", 40 * 10**9),
                                        ("1.5 MiB", 3 << 19), ("1TiB", 1 << 40), ("5TB", 5 * 10**12)])
def test_sizes_parse(text, size):
    assert parse_size(text) == size


def test_a_bad_size_is_refused():
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")
