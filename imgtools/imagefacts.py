"""What the probe (and ``qemu-img check``) know about an image file: the ``image`` part of the facts document.

Plain dataclasses, not pydantic models like the rest of :mod:`imgtools.facts`:
``imgtools probe`` and ``imgtools convert`` use nothing else of the document,
and importing pydantic and building models costs them about 0.1 s of start-up
on every call (a batch gate probes every image, a conversion pays it on top of
qemu-img).  Pydantic still validates and serialises them as fields of
:class:`imgtools.facts.Facts`; ``__pydantic_config__`` keeps unknown keys an
error there, as for every other model of the document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

_FORBID_EXTRA = {"extra": "forbid"}


@dataclass(kw_only=True)
class Violation:
    __pydantic_config__ = _FORBID_EXTRA

    id: str
    message: str


@dataclass(kw_only=True)
class QemuCheck:
    """``qemu-img check``: status is clean, leaks, corrupt or unsupported (format has no check)."""

    __pydantic_config__ = _FORBID_EXTRA

    status: Literal["clean", "leaks", "corrupt", "unsupported"]
    leaks: int = 0
    corruptions: int = 0
    message: str = ""


@dataclass(kw_only=True)
class ImageFacts:
    __pydantic_config__ = _FORBID_EXTRA

    path: str
    format: str
    subformat: str | None = None
    virtual_size: int
    file_size: int
    encrypted: bool = False
    #: How: "aes" or "luks" (qcow2/qcow), "luks" (LUKS container); None if not encrypted.
    encryption: str | None = None
    #: The format the user declared (--format-hint), canonical name.
    format_hint: str | None = None
    #: Every format whose signature the probe found (more than one is a violation).
    detected_formats: list[str] = field(default_factory=list)
    safe: bool
    violations: list[Violation] = field(default_factory=list)
    check: QemuCheck | None = None
