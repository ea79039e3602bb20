"""Check reports: the model (the JSON contract) and its renderings as text, JSON, JUnit XML and SARIF."""

from __future__ import annotations

from typing import Callable

from . import junit, sarif, text
from .model import Finding, Report


def _json(report: Report) -> str:
    return report.model_dump_json(indent=2) + "\n"


#: ``--format`` name -> renderer (text renders without colour here; the CLI adds it on a tty).
RENDERERS: dict[str, Callable[[Report], str]] = {
    "text": text.render,
    "json": _json,
    "junit": junit.render,
    "sarif": sarif.render,
}

__all__ = ["Finding", "RENDERERS", "Report"]
