"""Counts for the live progress line: done, failed, in flight (thread-safe: workers start in threads)."""

from __future__ import annotations

import threading

from .jobs import ImageJob, ImageResult


class Progress:
    def __init__(self, total: int):
        self.total = total
        self.done = self.failed = self.errors = self.in_flight = 0
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def started(self, job: ImageJob) -> None:
        with self._lock:
            self._running.add(job.name)
            self.in_flight = len(self._running)

    def finished(self, result: ImageResult) -> None:
        with self._lock:
            self._running.discard(result.name)
            self.in_flight = len(self._running)
            self.done += 1
            self.failed += result.verdict == "fail"
            self.errors += result.verdict == "error"

    def line(self) -> str:
        with self._lock:
            return (f"{self.done}/{self.total} done, {self.failed} failed, {self.errors} errors, "
                    f"{self.in_flight} in flight")
