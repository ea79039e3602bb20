"""Integration: the synthetic fixture guests, really inspected, get the verdicts one expects per profile.

The guests are built once (one appliance launch for all) and inspected once
each; every assertion then runs the pure checks on their facts.  Fixture
disks are tiny (≤ 160 MB), so the system-disk size check is waived: the
waiver shows in the report and nothing else changes.
"""

from __future__ import annotations

import importlib

import pytest

from imgtools.checks import evaluate
from imgtools.profiles import load_profile

pytestmark = [pytest.mark.slow, pytest.mark.appliance]

TINY = {"IMG-IMG-003": "fixture disks are smaller than any real system disk"}

#: Guest -> checks that must fail under huaweicloud (evidence of the defect the recipe plants).
EXPECTED_FAILURES = {
    "debian-virtio": set(),
    "ubuntu-novirtio": {"IMG-DRV-001", "IMG-NET-003", "IMG-SW-005"},
    "rhel-lvm": {"IMG-BOOT-006"},
    "sles-xen": {"IMG-DRV-001"},
    "debian-static": {"IMG-NET-001", "IMG-NET-002", "IMG-NET-003", "IMG-FS-001", "IMG-FS-002", "IMG-BOOT-003",
                      "IMG-SW-005"},
    "uefi-luks": {"IMG-IMG-005", "IMG-IMS-003", "IMG-SW-005"},
    "windows-virtio": set(),
    "windows-xen": {"IMG-WIN-001", "IMG-WIN-002", "IMG-WIN-004", "IMG-WIN-005", "IMG-WIN-006", "IMG-SW-002",
                    "IMG-SW-004", "IMG-SW-005"},
}


@pytest.fixture(scope="module")
def guest_facts():
    gather = getattr(importlib.import_module("imgtools.inspect"), "gather_facts", None)
    if gather is None:
        pytest.skip("imgtools.inspect.gather_facts is not available yet")
    linux = importlib.import_module("fixtures.guests").build_all_disks(
        [name for name in EXPECTED_FAILURES if not name.startswith("windows")])
    windows = {name: [path] for name, path in importlib.import_module("fixtures.windows").build().items()}
    return {name: gather(str(paths[0]), extra_disks=[str(p) for p in paths[1:]])
            for name, paths in (linux | windows).items()}


def report(facts, profile="huaweicloud", **kw):
    return evaluate(facts, load_profile(profile), TINY, **kw)


def failed(rep) -> dict:
    return {f.id: f for f in rep.findings if f.status in ("fail", "error")}


@pytest.mark.parametrize("guest", list(EXPECTED_FAILURES))
def test_each_guest_fails_huaweicloud_on_its_planted_defects(guest_facts, guest):
    rep = report(guest_facts[guest])
    failures = failed(rep)
    assert not [f for f in rep.findings if f.status == "error"], "no check may crash on real facts"
    assert EXPECTED_FAILURES[guest] <= set(failures), {k: v.message for k, v in failures.items()}
    blocking = {f.id for f in rep.blocking()}
    assert (rep.verdict == "pass") == (not blocking)
    assert next(f for f in rep.findings if f.id == "IMG-IMG-003").status in ("waived", "pass")


@pytest.mark.parametrize("guest, family", [("debian-virtio", "debian"), ("windows-virtio", "windows")])
def test_a_ready_guest_passes_huaweicloud(guest_facts, guest, family):
    rep = report(guest_facts[guest])
    assert rep.verdict == "pass", {k: v.message for k, v in failed(rep).items()}
    assert rep.family == family


def test_a_windows_guest_gets_windows_fixes(guest_facts):
    failures = failed(report(guest_facts["windows-xen"]))
    assert "vioscsi.sys is missing" in failures["IMG-WIN-001"].message
    assert "pnputil" in failures["IMG-WIN-001"].remediation
    assert "manage-bde -off" in failures["IMG-WIN-005"].remediation


def test_missing_virtio_gets_the_fix_of_the_guests_own_family(guest_facts):
    ubuntu = failed(report(guest_facts["ubuntu-novirtio"]))["IMG-DRV-001"]
    assert "5.15.0-91-generic" in ubuntu.message
    assert "update-initramfs -u -k all" in ubuntu.remediation and "dracut" not in ubuntu.remediation
    sles = failed(report(guest_facts["sles-xen"]))["IMG-DRV-001"]
    assert "dracut -f --regenerate-all" in sles.remediation and "INITRD_MODULES" in sles.remediation
    assert "update-initramfs" not in sles.remediation


def test_udev_rules_inside_the_initramfs_are_reported(guest_facts):
    udev = failed(report(guest_facts["debian-static"]))["IMG-NET-002"]
    assert "70-persistent-net.rules" in udev.message and "initramfs" in udev.message


def test_profiles_judge_the_same_guest_differently(guest_facts):
    uefi = guest_facts["uefi-luks"]
    assert "IMG-BOOT-005" not in failed(report(uefi, "huaweicloud"))
    assert "IMG-BOOT-005" in failed(report(uefi, "base"))
    azure = failed(report(guest_facts["debian-virtio"], "azure"))
    assert {"IMG-IMG-001", "IMG-DRV-003"} <= set(azure)
    gce = report(guest_facts["debian-virtio"], "gce")
    assert "IMG-DRV-001" not in failed(gce)


@pytest.mark.parametrize("guest, detected_by", [("debian-virtio", "imgtools"), ("rhel-lvm", "imgtools"),
                                                ("windows-virtio", "libguestfs")])
def test_linux_roots_are_found_by_imgtools_and_windows_by_libguestfs(guest_facts, guest, detected_by):
    assert guest_facts[guest].facts.inspection.os_detected_by == detected_by
