"""imgtools.checks.image: a passing and a failing facts document for every image-level check."""

from __future__ import annotations

import pytest

from imgtools.imagefacts import QemuCheck

from .cases import case, setting, verify
from .sample_facts import GIB, debian, unsafe

CASES = [
    case("IMG-IMG-001", "pass", debian, message="format qcow2 is importable"),
    case("IMG-IMG-001", "pass", debian, setting("image.format", "vpc"), params={"formats": ["vhd"]},
         label="alias", message="vpc"),
    case("IMG-IMG-001", "fail", debian, setting("image.format", "parallels"), message="parallels is not importable",
         remediation="qemu-img convert"),
    case("IMG-IMG-001", "fail", debian,
         lambda f: (setting("image.format", "vmdk")(f), setting("image.subformat", "monolithicFlat")(f)),
         params={"subformats": {"vmdk": ["streamOptimized"]}}, label="subformat",
         message="subformat monolithicFlat is not importable"),
    case("IMG-IMG-002", "pass", debian, message="2.00 GiB"),
    case("IMG-IMG-002", "fail", debian, setting("image.file_size", 200 * GIB), message="over the 128.00 GiB limit"),
    case("IMG-IMG-002", "pass", debian,
         lambda f: (setting("image.format", "raw")(f), setting("image.file_size", 200 * GIB)(f)),
         params={"max_file_size_by_format": {"raw": "1TiB"}}, label="fast-import", message="allowed for raw"),
    case("IMG-IMG-003", "pass", debian, message="within 1.00 GiB"),
    case("IMG-IMG-003", "fail", debian, setting("image.virtual_size", 2048 * GIB), message="over the 1.00 TiB"),
    case("IMG-IMG-003", "fail", debian, setting("image.virtual_size", 512 << 20), label="small",
         message="under the 1.00 GiB minimum"),
    case("IMG-IMG-004", "pass", debian, message="multiple of 1048576"),
    case("IMG-IMG-004", "fail", debian, setting("image.virtual_size", 10 * GIB + 512), message="remainder 512",
         remediation="subformat=fixed"),
    case("IMG-IMG-005", "pass", debian, message="no image or volume encryption"),
    case("IMG-IMG-005", "fail", debian, setting("image.encrypted", True), message="is encrypted"),
    case("IMG-IMG-005", "fail", debian, setting("facts.storage.luks_devices", ["/dev/sda3"]), label="luks",
         message="/dev/sda3"),
    case("IMG-IMG-006", "pass", debian, message="nothing unsafe"),
    case("IMG-IMG-006", "fail", unsafe, message="backing-file: qcow2 header names a backing file"),
    case("IMG-IMG-007", "pass", debian, message="clean"),
    case("IMG-IMG-007", "fail", debian, setting("image.check", QemuCheck(status="corrupt", corruptions=3)),
         message="3 corruptions"),
    case("IMG-IMG-007", "skip", debian, setting("image.check", QemuCheck(status="unsupported")), label="vpc",
         message="cannot check"),
    case("IMG-IMG-008", "pass", debian, message="clean"),
    case("IMG-IMG-008", "fail", debian, setting("image.check", QemuCheck(status="leaks", leaks=12)),
         message="12 leaked clusters"),
    case("IMG-IMG-008", "skip", unsafe, label="not-run", message="not run"),
]


@pytest.mark.parametrize("c", CASES)
def test_image_check(c):
    verify(c)
