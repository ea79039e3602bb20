"""imgtools.profiles: built-in profiles, extends chains, user files, and errors that name file and line."""

from __future__ import annotations

import textwrap

import jsonschema
import pytest

from imgtools.checks.registry import CHECKS
from imgtools.errors import ProfileError
from imgtools.profiles import BUILTIN_DIR, list_profiles, load_profile, profile_schema


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_every_builtin_profile_loads():
    names = {p.name for p in list_profiles()}
    assert {"base", "huaweicloud", "openstack", "aws", "azure", "gce"} <= names
    for profile in list_profiles():
        assert profile.description
        assert profile.checks
        if profile.name != "base":
            assert profile.extends == ["base"] and profile.platform == profile.name
            assert profile.preferred_format


def test_default_profile_follows_the_ims_rules():
    p = load_profile()
    assert p.name == "huaweicloud" and p.preferred_format == "qcow2"
    fmt = p.checks["IMG-IMG-001"].params["formats"]
    assert {"vmdk", "vhd", "qcow2", "raw", "vhdx", "qed", "vdi", "qcow", "zvhd2", "zvhd"} == set(fmt)
    size = p.checks["IMG-IMG-002"].params
    assert size["max_file_size"] == "128GiB" and size["max_file_size_by_format"] == {"raw": "1TiB", "zvhd2": "1TiB"}
    assert p.checks["IMG-IMG-003"].params == {"min_disk": "1GiB", "max_disk": "1TiB"}
    assert p.checks["IMG-DRV-001"].severity == "error"
    assert p.checks["IMG-DRV-002"].severity == "warning"
    assert p.checks["IMG-SW-001"].params["datasources"] == ["OpenStack", "ConfigDrive"]
    for check_id in ("IMG-NET-001", "IMG-NET-002", "IMG-FS-001", "IMG-FS-002", "IMG-BOOT-003", "IMG-BOOT-004",
                     "IMG-IMG-005", "IMG-WIN-001", "IMG-SW-002", "IMG-WIN-003"):
        assert check_id in p.checks
    assert {p.checks[f"IMG-IMS-00{i}"].severity for i in range(1, 5)} == {"info"}


def test_platform_profiles_differ_where_the_platforms_do():
    azure, aws, gce = load_profile("azure"), load_profile("aws"), load_profile("gce")
    assert azure.output.subformat == "fixed" and azure.output.align == "1MiB"
    assert "IMG-IMG-004" in azure.checks and "IMG-DRV-003" in azure.checks and "IMG-DRV-001" not in azure.checks
    assert aws.checks["IMG-IMG-001"].params["subformats"] == {"vmdk": ["streamOptimized"]}
    assert gce.checks["IMG-DRV-001"].params["initramfs"] == ["virtio_scsi", "virtio_pci"]
    assert gce.output.format == "raw"


def test_a_user_profile_extends_a_builtin_by_name_and_overrides_one_param(tmp_path):
    path = write(tmp_path, "mine.yaml", """\
        description: our cloud
        extends: huaweicloud
        checks:
          IMG-IMG-002:
            params: {max_file_size: 64GiB}
          IMG-DRV-002: false
          IMG-SW-001: error
        """)
    p = load_profile(str(path))
    assert p.name == "mine" and p.extends == ["huaweicloud", "base"] and p.platform == "huaweicloud"
    params = p.checks["IMG-IMG-002"].params
    assert params["max_file_size"] == "64GiB"
    assert params["max_file_size_by_format"] == {"raw": "1TiB", "zvhd2": "1TiB"}, "unchanged params are inherited"
    assert "IMG-DRV-002" not in p.checks
    assert p.checks["IMG-SW-001"].severity == "error"
    assert p.checks["IMG-SW-001"].params["datasources"] == ["OpenStack", "ConfigDrive"]


def test_extends_a_relative_file(tmp_path):
    write(tmp_path, "parent.yaml", "checks:\n  IMG-IMG-006:\n")
    (tmp_path / "sub").mkdir()
    child = write(tmp_path / "sub", "child.yaml", "extends: ../parent.yaml\nchecks:\n  IMG-IMG-007: warning\n")
    p = load_profile(child)
    assert list(p.checks) == ["IMG-IMG-006", "IMG-IMG-007"]
    assert p.extends == ["parent"]


def test_an_extends_loop_is_an_error(tmp_path):
    write(tmp_path, "a.yaml", "extends: ./b.yaml\n")
    write(tmp_path, "b.yaml", "extends: ./a.yaml\n")
    with pytest.raises(ProfileError, match="loop: a.yaml -> b.yaml -> a.yaml"):
        load_profile(tmp_path / "a.yaml")


def test_an_unknown_check_id_names_file_and_line(tmp_path):
    path = write(tmp_path, "bad.yaml", """\
        extends: base
        checks:
          IMG-IMG-001:
          IMG-FOO-999: error
        """)
    with pytest.raises(ProfileError, match=rf"^{path}:4: unknown check id 'IMG-FOO-999'"):
        load_profile(path)


def test_an_unknown_parameter_names_file_line_and_the_known_ones(tmp_path):
    path = write(tmp_path, "bad.yaml", """\
        checks:
          IMG-IMG-003:
            params:
              min_disk: 1GiB
              max_disks: 2TiB
        """)
    with pytest.raises(ProfileError, match=rf"^{path}:5: check IMG-IMG-003 has no parameter 'max_disks' "
                                           r"\(it has: min_disk, max_disk\)"):
        load_profile(path)


@pytest.mark.parametrize("text, line, words", [
    ("checks:\n  IMG-IMG-001:\n    params:\n      formats: qcow2\n", 4, "formats"),
    ("checks:\n  IMG-IMG-002:\n    params:\n      max_file_size: lots\n", 4, "max_file_size: 'lots' is not a size"),
    ("checks:\n  IMG-IMG-002:\n    severity: fatal\n", 3, "severity"),
    ("description: x\nplatform: ibmcloud\n", 2, "platform"),
    ("output:\n  format: vhdz\n", 2, "output.format"),
    ("checks:\n  - IMG-IMG-001\n", 2, "checks"),
    ("colour: blue\n", 1, "top level"),
])
def test_a_bad_value_names_file_and_line(tmp_path, text, line, words):
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message
    assert "\n" not in message


def test_broken_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "bad.yaml", "checks:\n  IMG-IMG-001: [\n")
    with pytest.raises(ProfileError, match=rf"^{path}:3: not valid YAML"):
        load_profile(path)


def test_unknown_names_and_missing_files(tmp_path):
    with pytest.raises(ProfileError, match="no profile named 'ibm'; built-in profiles: aws, azure, base"):
        load_profile("ibm")
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile(tmp_path / "missing.yaml")


def test_the_schema_is_a_valid_json_schema_and_the_builtins_follow_it():
    schema = profile_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    assert set(schema["properties"]["checks"]["properties"]) == set(CHECKS)
    import yaml
    for path in BUILTIN_DIR.glob("*.yaml"):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_the_output_format_is_stored_under_qemus_name(tmp_path):
    path = write(tmp_path, "vhd.yaml", "extends: azure\noutput:\n  format: vhd\n")
    p = load_profile(path)
    assert (p.output.format, p.output.subformat, p.platform) == ("vpc", "fixed", "azure")
