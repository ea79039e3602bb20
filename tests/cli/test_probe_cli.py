"""`imgtools probe` from the command line: text and JSON views, exit codes, one-line errors."""

from __future__ import annotations

import json

import pytest

from tests.support import make_image, sha256


def test_safe_image_text_view(run, tmp_path):
    image = make_image(tmp_path / "disk.qcow2", "qcow2", "1G")
    before = sha256(image)
    code, out, err = run("probe", str(image))
    assert (code, err) == (0, "")
    assert "format:       qcow2 (QEMU copy-on-write v2/v3, 1.1)" in out
    assert "virtual size: 1.0 GiB (1073741824 bytes)" in out
    assert "verdict:      safe" in out
    assert sha256(image) == before


def test_unsafe_image_lists_violations_with_ids(run, tmp_path):
    image = make_image(tmp_path / "disk.qed", "qed")
    code, out, _ = run("probe", str(image))
    assert code == 1
    assert "verdict:      UNSAFE (1 violation)" in out
    assert "  [qed] QED image" in out


def test_json_contract(run, tmp_path):
    image = make_image(tmp_path / "disk.vhd", "vpc", "64M", "subformat=fixed")
    code, out, _ = run("probe", "--json", "--format-hint", "raw", str(image))
    assert code == 1
    data = json.loads(out)
    assert {"format", "virtual_size", "file_size", "safe", "violations"} <= set(data)
    assert (data["format"], data["subformat"], data["safe"]) == ("vpc", "fixed", False)
    assert data["file_size"] == image.stat().st_size
    assert data["violations"] == [
        {"id": "format-mismatch", "message": "declared format raw but the content is vpc"}
    ]


def test_json_safe_exit_zero(run, tmp_path):
    image = make_image(tmp_path / "disk.raw", "raw", "10M")
    code, out, _ = run("probe", "--json", str(image))
    data = json.loads(out)
    assert (code, data["format"], data["virtual_size"], data["safe"], data["violations"]) == (
        0, "raw", 10 << 20, True, [])


@pytest.mark.parametrize("args, needle", [
    (("probe", "/nonexistent/disk.img"), "no such file"),
    (("probe", "--json", "/nonexistent/disk.img"), "no such file"),
    (("probe", "/"), "directory"),
    (("probe", "--format-hint", "floppy", "/dev/null"), "unknown image format 'floppy'"),
])
def test_usage_and_access_errors_are_one_line(run, args, needle):
    code, out, err = run(*args)
    assert code == 2 and out == ""
    assert err.startswith("imgtools probe: ") and needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_help_explains_command_and_violations(run):
    code, out, _ = run("probe", "--help")
    assert code == 0
    assert "bounded amount" in out and "--format-hint" in out
    for vid in ("backing-file", "vmdk-extent", "absurd-header", "unsupported-format"):
        assert vid in out
