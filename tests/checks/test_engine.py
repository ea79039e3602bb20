"""imgtools.checks.engine: applicability, crash isolation, waivers, verdicts, family remediations."""

from __future__ import annotations

import pytest

from imgtools.checks import evaluate
from imgtools.checks.registry import CHECKS
from imgtools.errors import UsageError
from imgtools.facts import ModuleState
from imgtools.profiles import load_profile

from .sample_facts import debian, rhel, unsafe, windows


@pytest.fixture(scope="module")
def huawei():
    return load_profile("huaweicloud")


def finding(report, check_id):
    return next(f for f in report.findings if f.id == check_id)


def no_virtio_in_initramfs(facts):
    facts.facts.linux.kernels[0].modules["virtio_blk"] = ModuleState(on_disk=True)
    return facts


def test_ready_guests_pass_the_default_profile(huawei):
    for facts in (debian(), rhel(), windows()):
        report = evaluate(facts, huawei)
        assert report.verdict == "pass", [f for f in report.findings if f.status == "fail"]
        assert report.counts["error"] == 0


def test_a_guest_without_virtio_fails_with_its_own_familys_fix(huawei):
    deb = evaluate(no_virtio_in_initramfs(debian()), huawei)
    red = evaluate(no_virtio_in_initramfs(rhel()), huawei)
    assert deb.verdict == red.verdict == "fail"
    assert deb.family == "debian" and red.family == "rhel"
    assert "update-initramfs" in finding(deb, "IMG-DRV-001").remediation
    assert "dracut" not in finding(deb, "IMG-DRV-001").remediation
    assert "dracut -f --regenerate-all" in finding(red, "IMG-DRV-001").remediation
    assert "update-initramfs" not in finding(red, "IMG-DRV-001").remediation


def test_an_unsafe_image_fails_at_probe_level_and_skips_guest_checks(huawei):
    report = evaluate(unsafe(), huawei)
    assert report.verdict == "fail"
    assert finding(report, "IMG-IMG-006").status == "fail"
    guest = [f for f in report.findings if CHECKS[f.id].applies_to != "image"]
    assert guest and all(f.status == "skip" for f in guest)


def test_a_crashing_check_becomes_an_error_finding_and_the_run_goes_on(huawei):
    facts = debian()
    facts.facts.linux.kernels[0].version = None  # type: ignore[assignment]  # makes IMG-DRV-004 raise
    report = evaluate(facts, huawei)
    crashed = finding(report, "IMG-DRV-004")
    assert crashed.status == "error"
    assert "internal error in check IMG-DRV-004: TypeError" in crashed.message
    assert report.verdict == "fail"
    assert finding(report, "IMG-NET-001").status == "pass"


def test_waived_failures_stay_in_the_report(huawei):
    facts = no_virtio_in_initramfs(debian())
    report = evaluate(facts, huawei, waivers={"virtio-drivers": "Xen flavor only"})
    waived = finding(report, "IMG-DRV-001")
    assert (waived.status, waived.waiver) == ("waived", "Xen flavor only")
    assert report.verdict == "pass" and report.counts["waived"] == 1


def test_waiving_an_unknown_check_is_a_usage_error(huawei):
    with pytest.raises(UsageError, match="IMG-NOPE-001"):
        evaluate(debian(), huawei, waivers={"IMG-NOPE-001": ""})


def test_fail_on_warning_counts_warnings(huawei):
    facts = debian()
    facts.facts.linux.guest_tools = ["open-vm-tools"]
    assert evaluate(facts, huawei).verdict == "pass"
    report = evaluate(facts, huawei, fail_on="warning")
    assert report.verdict == "fail" and report.fail_on == "warning"
    assert [f.id for f in report.blocking()] == ["IMG-SW-005"]


def test_profile_severity_overrides_the_default(huawei):
    facts = debian()
    facts.facts.linux.kernels[0].modules["xen_blkfront"] = ModuleState(on_disk=True)
    report = evaluate(facts, huawei)
    assert finding(report, "IMG-DRV-002").severity == "warning"
    assert report.verdict == "pass"
