"""The batch manifest: which images, against which profile, doing what.

A YAML file, validated against :data:`SCHEMA`; every error names the file and
line.  Top-level settings are the defaults; an image given as a mapping
overrides them for itself::

    profile: huaweicloud            # default profile (name or file)
    action: check                   # or prepare, with options:
    options: {format: qcow2}
    waivers: [IMG-LNX-010, "IMG-NET-020:we use static IPs", {id: X, reason: y}]
    timeout: 1800                   # seconds per image
    images:
      - disks/web01.vmdk            # relative to this file's folder
      - "exports/*.vhd"             # a string with * ? [ is a glob
      - {path: /srv/db01.qcow2, profile: aws, timeout: 3600}
      - {glob: "lab/**/*.qcow2", waivers: [IMG-SW-010]}

The minimal manifest ``{profile: NAME, images: [PATH, …]}`` works as it reads.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ..errors import ProfileError
from .jobs import ImageJob

_WAIVER = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "object", "properties": {"id": {"type": "string", "minLength": 1}, "reason": {"type": "string"}},
         "required": ["id"], "additionalProperties": False},
    ]
}
#: Settings allowed at the top (defaults) and on each image (overrides).
_SETTINGS = {
    "profile": {"type": "string", "minLength": 1},
    "action": {"enum": ["check", "prepare"]},
    # prepare's options; outdir is relative to the manifest (default: OUTDIR/images).
    "options": {
        "type": "object",
        "properties": {"format": {"type": "string"}, "outdir": {"type": "string"}, "name": {"type": "string"},
                       "force": {"type": "boolean"}},
        "additionalProperties": False,
    },
    "waivers": {"type": "array", "items": _WAIVER},
    "timeout": {"type": "number", "exclusiveMinimum": 0},
}
_IMAGE = {
    "type": ["string", "object"],
    "minLength": 1,
    "properties": {"path": {"type": "string", "minLength": 1}, "glob": {"type": "string", "minLength": 1},
                   **_SETTINGS},
    "additionalProperties": False,
}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {**_SETTINGS, "images": {"type": "array", "items": _IMAGE, "minItems": 1}},
    "required": ["images"],
    "additionalProperties": False,
}

DEFAULT_PROFILE = "huaweicloud"
DEFAULT_TIMEOUT = 1800.0


@dataclass(frozen=True)
class Manifest:
    path: Path
    jobs: list[ImageJob]
    #: The lowest severity whose failure fails an image (``--fail-on``).
    fail_on: str = "error"


def load_manifest(path: str | os.PathLike, *, refresh: bool = False, fail_on: str = "error",
                  timeout: float | None = None, retries: int = 1) -> Manifest:
    """Read, validate and expand a manifest into one job per image file.

    ``timeout`` (seconds) overrides the manifest's; ``refresh`` bypasses the
    facts cache.  A file listed twice keeps the settings of its last entry.
    """
    source = Path(path)
    try:
        text = source.read_text()
    except OSError as exc:
        raise ProfileError(f"{source}: cannot read the manifest ({exc.strerror})") from None
    lines = _Lines(source, text)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else str(source)
        raise ProfileError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))
    if error is not None:
        node = tuple(error.absolute_path)
        if error.validator == "additionalProperties":  # point at the unexpected key itself
            unexpected = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            node += tuple(unexpected[:1])
        where = ".".join(str(p) for p in error.absolute_path) or "manifest"
        raise ProfileError(f"{lines.at(node)}: {where}: {error.message}")

    base = source.resolve().parent
    defaults = {key: data[key] for key in _SETTINGS if key in data}
    entries: dict[str, dict[str, Any]] = {}
    for index, item in enumerate(data["images"]):
        where = lines.at(("images", index))
        settings = {**defaults, **({k: v for k, v in item.items() if k in _SETTINGS} if isinstance(item, dict) else {})}
        for image in _expand(item, base, where):
            entries.pop(image, None)  # the last entry wins, and keeps its place
            entries[image] = {"settings": settings, "line": lines.line(("images", index))}

    names = _unique_names(list(entries))
    jobs = []
    for image, entry in entries.items():
        settings = entry["settings"]
        profile = _resolve_profile(settings.get("profile", DEFAULT_PROFILE), base)
        jobs.append(ImageJob(
            path=image,
            name=names[image],
            profile=profile,
            profile_digest=_digest(profile),
            action=settings.get("action", "check"),
            options=_options(settings.get("options", {}), base),
            waivers=dict(_waiver(w) for w in settings.get("waivers", [])),
            fail_on=fail_on,
            timeout=timeout or settings.get("timeout", DEFAULT_TIMEOUT),
            refresh=refresh,
            retries=retries,
            line=entry["line"],
        ))
    return Manifest(source, jobs, fail_on)


def _expand(item: str | dict, base: Path, where: str) -> list[str]:
    """The absolute image paths one entry names; a glob that matches nothing is an error."""
    if isinstance(item, dict):
        if ("path" in item) == ("glob" in item):
            raise ProfileError(f"{where}: an image needs exactly one of 'path' or 'glob'")
        pattern = item.get("glob")
        literal = item.get("path")
    else:
        pattern, literal = (item, None) if glob.has_magic(item) else (None, item)
    if literal is not None:
        return [os.path.normpath(base / os.path.expanduser(literal))]
    matches = sorted(glob.glob(str(base / os.path.expanduser(pattern)), recursive=True))
    files = [os.path.normpath(m) for m in matches if not os.path.isdir(m)]
    if not files:
        raise ProfileError(f"{where}: the glob {pattern!r} matches no file (relative to {base})")
    return files


def _resolve_profile(profile: str, base: Path) -> str:
    """A profile that looks like a file is resolved against the manifest's folder; a name stays a name."""
    if "/" in profile or profile.endswith((".yaml", ".yml")):
        return os.path.normpath(base / os.path.expanduser(profile))
    return profile


def _digest(profile: str) -> str | None:
    try:
        return hashlib.sha256(Path(profile).read_bytes()).hexdigest()[:16] if os.path.isfile(profile) else None
    except OSError:
        return None


def _options(options: dict[str, Any], base: Path) -> dict[str, Any]:
    if "outdir" in options:
        return {**options, "outdir": os.path.normpath(base / os.path.expanduser(options["outdir"]))}
    return options


def _waiver(value: str | dict) -> tuple[str, str]:
    """(check id, reason) from ``ID``, ``"ID: reason"`` or ``{id: ID, reason: …}``."""
    if isinstance(value, dict):
        return value["id"], value.get("reason", "")
    check_id, _, reason = value.partition(":")
    return check_id.strip(), reason.strip()


def _unique_names(paths: list[str]) -> dict[str, str]:
    """File names made safe for a report file name; a clash gets ``-2``, ``-3``…"""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for path in paths:
        stem = re.sub(r"[^A-Za-z0-9._+-]", "_", os.path.basename(path)) or "image"
        name, n = stem, 1
        while name in taken or name in ("summary", "junit", "report"):
            n += 1
            name = f"{stem}-{n}"
        taken.add(name)
        names[path] = name
    return names


class _Lines:
    """Line numbers of the YAML nodes, by their path in the loaded document."""

    def __init__(self, source: Path, text: str):
        self.source = source
        self.lines: dict[tuple, int] = {}
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            root = None
        if root is not None:
            self._walk(root, ())

    def _walk(self, node: yaml.Node, path: tuple) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self._walk(value, path + (key.value,))
        elif isinstance(node, yaml.SequenceNode):
            for index, value in enumerate(node.value):
                self._walk(value, path + (index,))

    def line(self, path: tuple) -> int:
        """The line of the deepest known node on ``path``."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def at(self, path: tuple) -> str:
        return f"{self.source}:{self.line(path)}"
