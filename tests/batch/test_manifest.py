"""The manifest: minimal form, globs, defaults and overrides, and errors that name file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgtools.batch.manifest import load_manifest
from imgtools.errors import ProfileError


def write(folder: Path, text: str) -> Path:
    path = folder / "m.yaml"
    path.write_text(text)
    return path


def touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"")


def test_minimal_manifest_resolves_paths_against_its_folder(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    manifest = load_manifest(write(tmp_path, f"{{profile: aws, images: [a.raw, {tmp_path}/b.qcow2]}}"))
    assert [(j.path, j.name, j.profile, j.action) for j in manifest.jobs] == [
        (str(tmp_path / "a.raw"), "a.raw", "aws", "check"),
        (str(tmp_path / "b.qcow2"), "b.qcow2", "aws", "check"),
    ]
    assert manifest.fail_on == "error"


def test_a_missing_plain_path_is_kept_so_it_becomes_a_row(tmp_path):
    [job] = load_manifest(write(tmp_path, "images: [nowhere.vmdk]")).jobs
    assert job.path == str(tmp_path / "nowhere.vmdk")
    assert job.profile == "huaweicloud"


def test_globs_expand_sorted_and_skip_folders(tmp_path):
    touch(tmp_path, "d/2.vhd", "d/1.vhd", "d/x.vmdk", "deep/a/3.vhd")
    (tmp_path / "d" / "dir.vhd").mkdir()
    manifest = load_manifest(write(tmp_path, 'images: ["d/*.vhd", {glob: "deep/**/*.vhd"}]'))
    assert [j.name for j in manifest.jobs] == ["1.vhd", "2.vhd", "3.vhd"]


def test_defaults_and_per_image_overrides(tmp_path):
    touch(tmp_path, "a.raw", "b.raw")
    manifest = load_manifest(write(tmp_path, """\
profile: openstack
waivers: [IMG-A, "IMG-B: static IPs on purpose", {id: IMG-C, reason: lab}]
timeout: 60
images:
  - a.raw
  - path: b.raw
    profile: profiles/mine.yaml
    action: prepare
    options: {format: qcow2, outdir: ready, force: true}
    timeout: 5
"""), fail_on="warning", retries=3)
    a, b = manifest.jobs
    assert (a.profile, a.action, a.timeout, a.fail_on, a.retries) == ("openstack", "check", 60, "warning", 3)
    assert a.waivers == {"IMG-A": "", "IMG-B": "static IPs on purpose", "IMG-C": "lab"}
    assert b.profile == str(tmp_path / "profiles" / "mine.yaml")
    assert (b.action, b.timeout) == ("prepare", 5)
    assert b.options == {"format": "qcow2", "outdir": str(tmp_path / "ready"), "force": True}
    assert b.line == 6


def test_command_line_overrides_the_manifest(tmp_path):
    touch(tmp_path, "a.raw")
    [job] = load_manifest(write(tmp_path, "timeout: 60\nimages: [a.raw]"), timeout=7, refresh=True).jobs
    assert (job.timeout, job.refresh) == (7, True)


def test_a_file_listed_twice_keeps_its_last_settings(tmp_path):
    touch(tmp_path, "a.raw", "b.raw")
    manifest = load_manifest(write(tmp_path, 'images: ["*.raw", {path: a.raw, profile: gce}]'))
    assert [(j.name, j.profile) for j in manifest.jobs] == [("b.raw", "huaweicloud"), ("a.raw", "gce")]


def test_report_names_are_unique(tmp_path):
    touch(tmp_path, "x/disk.vmdk", "y/disk.vmdk", "summary")
    manifest = load_manifest(write(tmp_path, "images: [x/disk.vmdk, y/disk.vmdk, summary, 'we ird.img']"))
    assert [j.name for j in manifest.jobs] == ["disk.vmdk", "disk.vmdk-2", "summary-2", "we_ird.img"]


def test_the_key_follows_what_decides_the_outcome(tmp_path):
    touch(tmp_path, "a.raw")
    (tmp_path / "p.yaml").write_text("extends: huaweicloud\n")
    path = write(tmp_path, "profile: p.yaml\nimages: [a.raw]")
    first = load_manifest(path).jobs[0]
    assert load_manifest(path, timeout=3, refresh=True).jobs[0].key() == first.key()  # not decisive
    assert load_manifest(path, fail_on="warning").jobs[0].key() != first.key()
    (tmp_path / "p.yaml").write_text("extends: aws\n")  # the profile file changed
    assert load_manifest(path).jobs[0].key() != first.key()


@pytest.mark.parametrize("text, line, words", [
    ("images: [a.raw]\nprofle: aws\n", 2, "'profle' was unexpected"),
    ("profile: aws\nimages:\n  - a.raw\n  - {path: b.raw, timeout: -1}\n", 4, "images.1.timeout"),
    ("images:\n  - {path: a.raw,\n     action: convert}\n", 3, "'convert' is not one of"),
    ("profile: aws\n", 1, "'images' is a required property"),
    ("images: []\n", 1, "should be non-empty"),
    ("images:\n  - {path: a.raw, glob: '*.raw'}\n", 2, "exactly one of 'path' or 'glob'"),
    ("images:\n  - a.raw\n  - 'nothing/*.vmdk'\n", 3, "matches no file"),
    ("images: [a.raw\nprofile: x\n", 2, "not valid YAML"),
    ("images:\n  - a.raw\nwaivers: [{reason: no id}]\n", 3, "waivers.0"),
    ("images:\n  - a.raw\noptions:\n  format: raw\n  fromat: raw\n", 5, "'fromat' was unexpected"),
])
def test_errors_name_the_file_and_line(tmp_path, text, line, words):
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as caught:
        load_manifest(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message
    assert "\n" not in message


def test_an_unreadable_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(ProfileError, match="cannot read the manifest"):
        load_manifest(tmp_path / "absent.yaml")
