"""Platform profiles: YAML files that select checks, set their severities and parameters.

A profile may ``extends:`` another, by name (a built-in profile in the
repository's ``checks/`` folder) or by a path relative to the extending file.
Every file is validated against a JSON schema generated from the check
catalog, so an unknown check id, an unknown parameter or a value of the wrong
type is a :class:`ProfileError` naming the file and the line.

A check entry takes a full form or a shorthand::

    checks:
      IMG-IMG-001:                      # enabled with the catalog's defaults
      IMG-DRV-002: warning              # enabled with this severity
      IMG-DRV-003: false                # disabled
      IMG-IMG-002:
        severity: error
        params: {max_file_size: 128GiB}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml
from pydantic import BaseModel, ConfigDict, Field

from .checks.registry import CHECKS, SIZE_PATTERN, SIZE_SCHEMA
from .errors import ProfileError
from .formats import ALIASES, get_format, writable_formats
from .platforms import PLATFORMS
from .report.model import SEVERITIES, Severity

#: The built-in profiles: ``checks/`` at the top of the repository, which the package's
#: ``builtin_profiles`` symlink points at in a checkout and a wheel carries as files.
BUILTIN_DIR = (Path(__file__).parent / "builtin_profiles").resolve()
DEFAULT_PROFILE = "huaweicloud"


class CheckConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: Severity
    #: Every parameter of the check: the catalog's defaults overlaid by the profile chain.
    params: dict[str, Any] = Field(default_factory=dict)


class OutputSpec(BaseModel):
    """What ``prepare`` writes for this platform."""

    model_config = ConfigDict(extra="forbid")

    #: The image format (qemu name) the platform takes best.
    format: str | None = None
    subformat: str | None = None
    #: Round the virtual size up to a multiple of this (Azure: 1MiB); bytes or a size string.
    align: int | str | None = None


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    #: The file it was read from.
    source: str
    #: The profiles it extends, nearest first.
    extends: list[str] = Field(default_factory=list)
    #: The cloud whose registration metadata ``prepare`` writes (a key of imgtools.platforms.PLATFORMS).
    platform: str | None = None
    output: OutputSpec = Field(default_factory=OutputSpec)
    #: Enabled checks, in catalog order.
    checks: dict[str, CheckConfig] = Field(default_factory=dict)

    @property
    def preferred_format(self) -> str | None:
        return self.output.format


# -- the schema --

def profile_schema() -> dict[str, Any]:
    """The JSON schema of one profile file, generated from the catalog."""
    check_entries = {}
    for check in CHECKS.values():
        params = {name: dict(param.schema) for name, param in check.params.items()}
        check_entries[check.id] = {
            "description": check.title,
            "oneOf": [
                {"type": "null"},
                {"type": "boolean"},
                {"enum": list(SEVERITIES)},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "enabled": {"type": "boolean"},
                        "severity": {"enum": list(SEVERITIES)},
                        "params": {"type": "object", "additionalProperties": False, "properties": params},
                    },
                },
            ],
        }
    output = {
        "format": {"enum": [*writable_formats(), *(a for a, name in ALIASES.items() if name in writable_formats())]},
        "subformat": {"type": "string"},
        "align": SIZE_SCHEMA,
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "imgtools platform profile",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "description": {"type": "string"},
            "extends": {"type": "string"},
            "platform": {"enum": sorted(PLATFORMS)},
            "output": {"type": "object", "additionalProperties": False, "properties": output},
            "checks": {"type": "object", "additionalProperties": False, "properties": check_entries},
        },
    }


_VALIDATOR = jsonschema.Draft7Validator(profile_schema())


# -- reading one file --

def _line(path: Path, node: yaml.Node) -> str:
    return f"{path}:{node.start_mark.line + 1}"


def _node_at(node: yaml.Node, where) -> yaml.Node:
    """The YAML node at a JSON-schema error path (as deep as the path resolves)."""
    for part in where:
        if isinstance(node, yaml.MappingNode):
            found = next((value for key, value in node.value if key.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            found = node.value[part]
        else:
            found = None
        if found is None:
            break
        node = found
    return node


def _explain(error: jsonschema.ValidationError) -> str:
    """jsonschema's message, except where it would quote a regular expression at the user."""
    if error.validator == "pattern" and error.validator_value == SIZE_PATTERN:
        return f"{error.instance!r} is not a size: write e.g. 128GiB, 40GB or a number of bytes"
    return error.message


def _check_keys(path: Path, root: yaml.Node) -> None:
    """Unknown check ids and parameters, reported at the line of the offending key."""
    checks = _node_at(root, ["checks"])
    if checks is root or not isinstance(checks, yaml.MappingNode):
        return
    for key, value in checks.value:
        check = CHECKS.get(key.value)
        if check is None:
            raise ProfileError(
                f"{_line(path, key)}: unknown check id {key.value!r}; 'imgtools explain' lists the checks"
            )
        params = _node_at(value, ["params"])
        if params is value or not isinstance(params, yaml.MappingNode):
            continue
        for param, _ in params.value:
            if param.value not in check.params:
                known = ", ".join(check.params) or "none"
                raise ProfileError(
                    f"{_line(path, param)}: check {check.id} has no parameter {param.value!r} (it has: {known})"
                )


def _read(path: Path) -> dict[str, Any]:
    """One profile file, parsed and validated, not yet merged with what it extends."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc.strerror or exc}") from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ProfileError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ProfileError(f"{path}:1: a profile is a YAML mapping (description, extends, checks, …)")
    _check_keys(path, root)
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(data))
    if error is not None:
        field = ".".join(str(p) for p in error.absolute_path) or "top level"
        raise ProfileError(f"{_line(path, _node_at(root, error.absolute_path))}: {field}: {_explain(error)}")
    return data


def _entry(value: Any) -> dict[str, Any]:
    """A check entry in its full form (see the module docstring for the shorthands)."""
    if value is None or value is True:
        return {"enabled": True}
    if value is False:
        return {"enabled": False}
    if isinstance(value, str):
        return {"enabled": True, "severity": value}
    return {"enabled": value.get("enabled", True), **value}


def _locate(ref: str, relative_to: Path | None) -> Path:
    """A profile by built-in name or by path (relative to the file that names it)."""
    if "/" not in ref and not ref.endswith((".yaml", ".yml")):
        path = BUILTIN_DIR / f"{ref}.yaml"
        if not path.is_file():
            known = ", ".join(p.stem for p in builtin_profile_paths())
            raise ProfileError(f"no profile named {ref!r}; built-in profiles: {known}; or give a path to a .yaml file")
        return path
    path = Path(ref).expanduser()
    if not path.is_absolute() and relative_to is not None:
        path = relative_to.parent / path
    if not path.is_file():
        raise ProfileError(f"profile file {path} does not exist")
    return path.resolve()


def _merged(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], list[str]]:
    """The file's data merged over its ``extends`` chain, and the chain's names."""
    if path in seen:
        chain = " -> ".join(p.name for p in (*seen, path))
        raise ProfileError(f"{path}: profiles extend each other in a loop: {chain}")
    data = _read(path)
    checks = {check_id: _entry(value) for check_id, value in (data.get("checks") or {}).items()}
    if "extends" not in data:
        return {**data, "checks": checks}, []
    parent_path = _locate(data["extends"], path)
    parent, chain = _merged(parent_path, (*seen, path))
    merged_checks = dict(parent["checks"])
    for check_id, entry in checks.items():
        base = merged_checks.get(check_id, {})
        params = {**base.get("params", {}), **entry.get("params", {})}
        merged_checks[check_id] = {**base, **entry, "params": params}
    output = {**parent.get("output", {}), **data.get("output", {})}
    merged = {**parent, **data, "output": output, "checks": merged_checks}
    return merged, [parent_path.stem, *chain]


def _output(data: dict[str, Any]) -> OutputSpec:
    """The output spec with the format under qemu's name (a profile may say vhd for vpc)."""
    fmt = data.get("format")
    return OutputSpec(**{**data, "format": get_format(fmt).name if fmt else None})


def load_profile(name_or_path: str | Path = DEFAULT_PROFILE) -> Profile:
    """A built-in profile by name, or a profile file by path, fully merged and validated."""
    path = _locate(str(name_or_path), None)
    data, chain = _merged(path)
    checks = {}
    for check in CHECKS.values():
        entry = data["checks"].get(check.id)
        if entry is None or not entry.get("enabled", True):
            continue
        checks[check.id] = CheckConfig(
            severity=entry.get("severity", check.default_severity),
            params={**check.default_params(), **entry.get("params", {})},
        )
    return Profile(
        name=path.stem,
        description=data.get("description", ""),
        source=str(path),
        extends=chain,
        platform=data.get("platform"),
        output=_output(data.get("output", {})),
        checks=checks,
    )


def builtin_profile_paths() -> list[Path]:
    return sorted(BUILTIN_DIR.glob("*.yaml"))


def list_profiles() -> list[Profile]:
    """The built-in profiles, loaded (they are few and small)."""
    return [load_profile(path.stem) for path in builtin_profile_paths()]
