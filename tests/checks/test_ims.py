"""imgtools.checks.ims: which Huawei IMS operations an image qualifies for (info findings)."""

from __future__ import annotations

import pytest

from .cases import case, setting, verify
from .sample_facts import GIB, debian, unsafe


def _raw(size: int):
    def apply(facts):
        facts.image.format = "raw"
        facts.image.file_size = facts.image.virtual_size = size

    return apply


CASES = [
    case("IMG-IMS-001", "pass", debian, message="qualifies for a normal import: qcow2, 2.00 GiB"),
    case("IMG-IMS-001", "fail", debian, setting("image.file_size", 129 * GIB), message="file is 129.00 GiB, over 128.00 GiB"),
    case("IMG-IMS-001", "fail", unsafe, label="unsafe", message="unsafe"),
    case("IMG-IMS-002", "pass", debian, _raw(500 * GIB), message="qualifies for a fast import: raw"),
    case("IMG-IMS-002", "fail", debian, message="format qcow2 is not one of raw, zvhd2", remediation="CreateMF"),
    case("IMG-IMS-003", "pass", debian, message="not ISO, not encrypted"),
    case("IMG-IMS-003", "fail", debian, setting("facts.storage.luks_devices", ["/dev/sda2"]),
         message="encrypted images cannot be replicated"),
    case("IMG-IMS-003", "fail", debian, setting("image.virtual_size", 200 * GIB), label="size", message="over 128.00 GiB"),
    case("IMG-IMS-003", "fail", debian, setting("image.format", "iso"), label="iso", message="ISO"),
    case("IMG-IMS-004", "pass", debian, message="normal or fast export"),
    case("IMG-IMS-004", "pass", debian, setting("image.virtual_size", 300 * GIB), label="fast-only",
         message="fast export only"),
    case("IMG-IMS-004", "fail", debian, setting("image.virtual_size", 1 << 40), message="not under 1.00 TiB"),
    case("IMG-IMS-004", "fail", debian,
         lambda f: (setting("image.virtual_size", 300 * GIB)(f), setting("image.encrypted", True)(f)),
         label="encrypted-large", message="no fast export"),
]


@pytest.mark.parametrize("c", CASES)
def test_ims_check(c):
    verify(c)
