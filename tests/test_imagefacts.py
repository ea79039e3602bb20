"""The image facts are dataclasses that keep probe and convert free of pydantic, yet validate inside the document."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from imgtools.facts import Facts
from imgtools.imagefacts import ImageFacts, QemuCheck, Violation
from tests.support import fresh_python


def _unsafe_image() -> ImageFacts:
    return ImageFacts(
        path="/images/a.qcow2", format="qcow2", subformat="1.1", virtual_size=1 << 30, file_size=1 << 20,
        detected_formats=["qcow2"], safe=False,
        violations=[Violation(id="backing-file", message="names /etc/shadow")],
        check=QemuCheck(status="leaks", leaks=3),
    )


@pytest.mark.parametrize("module", ["imgtools.probe", "imgtools.convert", "imgtools.cli.probe"])
def test_probe_and_convert_start_without_pydantic(module):
    """Importing pydantic and building models was ~0.1 s of every probe's and conversion's start-up."""
    assert fresh_python(f"import sys, {module}; print('pydantic' in sys.modules)") == "False"


def test_image_facts_round_trip_through_the_facts_document():
    facts = Facts(image=_unsafe_image())
    again = Facts.from_json(facts.to_json())
    assert again == facts
    assert isinstance(again.image, ImageFacts) and isinstance(again.image.violations[0], Violation)
    assert again.image.check == QemuCheck(status="leaks", leaks=3)


def test_image_facts_keep_the_documented_key_order():
    """``probe --json`` and the document list keys as before the move to dataclasses."""
    keys = list(json.loads(Facts(image=_unsafe_image()).to_json())["image"])
    assert keys == ["path", "format", "subformat", "virtual_size", "file_size", "encrypted", "encryption",
                    "format_hint", "detected_formats", "safe", "violations", "check"]


@pytest.mark.parametrize("change", [
    {"unknown_key": 1},
    {"check": {"status": "fine"}},
    {"violations": [{"id": "x", "message": "y", "extra": 1}]},
    {"virtual_size": "big"},
])
def test_a_cached_document_with_bad_image_facts_is_refused(change):
    """Unknown keys and wrong types in the image part fail validation, like everywhere else in the document."""
    data = json.loads(Facts(image=_unsafe_image()).to_json())
    data["image"] |= change
    with pytest.raises(ValidationError):
        Facts.from_json(json.dumps(data))
