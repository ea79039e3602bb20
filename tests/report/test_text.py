"""imgtools.report.text: grouped by severity, the fix under each failure, colour only when asked."""

from __future__ import annotations

from imgtools.report import text

from .sample_report import mixed_report


def test_text_groups_by_severity_with_fixes_under_failures():
    out = text.render(mixed_report())
    lines = out.splitlines()
    assert lines.index("ERROR") < lines.index("WARNING") < lines.index("INFO")
    virtio = next(i for i, line in enumerate(lines) if "IMG-DRV-001" in line)
    assert lines[virtio].lstrip().startswith("FAIL")
    assert lines[virtio + 1].strip() == "fix:"
    assert "update-initramfs -u -k all" in "\n".join(lines[virtio:virtio + 8])
    assert "waived: rules removed by our first-boot script" in out
    assert "ERROR   IMG-DRV-004" in out
    assert lines[-1].startswith("verdict: FAIL (")
    assert "\033[" not in out


def test_colour_only_when_asked():
    assert "\033[31m" in text.render(mixed_report(), color=True)


def test_many_skips_with_one_reason_fold_into_one_line():
    from tests.checks.sample_facts import unsafe
    from imgtools.checks import evaluate
    from imgtools.profiles import load_profile

    out = text.render(evaluate(unsafe(), load_profile("huaweicloud")))
    folded = [line for line in out.splitlines() if "checks (IMG-" in line]
    assert folded and all("unsafe and was not opened" in line for line in folded)
    assert "IMG-BOOT-001 kernel-present" not in out
