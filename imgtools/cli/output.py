"""Shared output helpers for the commands: JSON, sizes, progress."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from typing import Any, TextIO


def print_json(data: Any, stream: TextIO | None = None) -> None:
    """One JSON document on stdout (pydantic models are dumped in JSON mode, dataclasses as dicts)."""
    if hasattr(data, "model_dump"):
        data = data.model_dump(mode="json")
    elif dataclasses.is_dataclass(data) and not isinstance(data, type):
        data = dataclasses.asdict(data)
    json.dump(data, stream or sys.stdout, indent=2, sort_keys=False)
    (stream or sys.stdout).write("\n")


def human_size(n: int | None) -> str:
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


class ProgressBar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, label: str, *, enabled: bool | None = None, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label = label
        self._last = -1.0
        self._drawn_at = 0.0

    def update(self, percent: float) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if percent < 100 and (percent - self._last < 0.5 or now - self._drawn_at < 0.1):
            return
        self._last, self._drawn_at = percent, now
        width = 30
        filled = int(width * percent / 100)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {percent:5.1f}%")
        self.stream.flush()

    def set_label(self, label: str) -> None:
        self.label = label
        self._last = -1.0

    def close(self) -> None:
        if self.enabled and self._last >= 0:
            self.stream.write("\n")
            self.stream.flush()


