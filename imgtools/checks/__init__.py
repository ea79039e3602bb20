"""The check catalog: declared checks, pure functions of a facts document.

``evaluate(facts, profile, waivers)`` runs a profile's checks and returns a
:class:`imgtools.report.Report`; profiles come from
:func:`imgtools.profiles.load_profile`.
"""

from .engine import evaluate
from .registry import CHECKS, Check, Outcome, get_check

__all__ = ["CHECKS", "Check", "Outcome", "evaluate", "get_check"]
