"""Huawei Cloud IMS operation qualification: which IMS operations the image qualifies for.

These are ``info`` findings: failing one does not make the image unusable, it
tells the user which route (normal or fast import, cross-region replication,
export) the documented constraints leave open.  Run ``check`` on the prepared
image to learn what the prepared image qualifies for.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..facts import Facts
from .image import format_name, size_text
from ..units import parse_size
from .registry import Check, Outcome, failed, list_param, passed, size_param

IMPORT_DOC = "https://support.huaweicloud.com/intl/en-us/usermanual-ims/ims_01_0212.html"
FAST_IMPORT_DOC = "https://support.huaweicloud.com/intl/en-us/usermanual-ims/ims_01_0231.html"
REPLICATION_DOC = "https://support.huaweicloud.com/intl/en-us/usermanual-ims/ims_01_0041.html"
EXPORT_DOC = "https://support.huaweicloud.com/intl/en-us/api-ims/ims_03_0609_1.html"


def _encrypted(facts: Facts) -> bool:
    return facts.image.encrypted or bool(facts.facts.storage.luks_devices)


def _qualifies(facts: Facts, operation: str, reasons: list[str], detail: str) -> Outcome:
    if not facts.image.safe:
        reasons = ["the probe judged the image unsafe", *reasons]
    if reasons:
        return failed(f"does not qualify for {operation}: {'; '.join(reasons)}")
    return passed(f"qualifies for {operation}: {detail}")


def _import(operation: str):
    """Normal and fast import differ only in their format list and size limit."""

    def evaluate(facts: Facts, params: Mapping[str, Any]) -> Outcome:
        image, limit = facts.image, parse_size(params["max_file_size"])
        reasons = []
        if format_name(image.format) not in {format_name(f) for f in params["formats"]}:
            reasons.append(f"format {image.format} is not one of {', '.join(params['formats'])}")
        if image.file_size > limit:
            reasons.append(f"file is {size_text(image.file_size)}, over {size_text(limit)}")
        return _qualifies(facts, operation, reasons, f"{image.format}, {size_text(image.file_size)} ≤ {size_text(limit)}")

    return evaluate


def _replication(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    image, limit = facts.image, parse_size(params["max_size"])
    reasons = []
    if image.virtual_size > limit:
        reasons.append(f"image is {size_text(image.virtual_size)}, over {size_text(limit)}")
    if format_name(image.format) == "iso":
        reasons.append("ISO images cannot be replicated")
    if _encrypted(facts):
        reasons.append("encrypted images cannot be replicated")
    return _qualifies(facts, "cross-region replication", reasons, f"{size_text(image.virtual_size)}, not ISO, not encrypted")


def _export(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    image = facts.image
    normal, limit = parse_size(params["max_normal_size"]), parse_size(params["max_size"])
    reasons = []
    if format_name(image.format) == "iso":
        reasons.append("ISO images cannot be exported")
    if image.virtual_size >= limit:
        reasons.append(f"image is {size_text(image.virtual_size)}, not under {size_text(limit)}")
    elif image.virtual_size > normal and _encrypted(facts):
        reasons.append(f"image is over {size_text(normal)} (fast export only) and encrypted (no fast export)")
    route = "fast export only" if image.virtual_size > normal else "normal or fast export"
    return _qualifies(facts, "export to OBS", reasons, f"{size_text(image.virtual_size)}, {route}")


CHECKS = (
    Check(
        id="IMG-IMS-001",
        slug="ims-normal-import",
        title="Qualifies for an IMS normal import",
        default_severity="info",
        applies_to="image",
        rationale="A normal import takes any documented format up to 128 GiB and lets IMS configure the image.",
        remediation={"any": "Convert to qcow2 with compression to shrink the file (imgtools prepare IMAGE), or use fast import."},
        docs=IMPORT_DOC,
        evaluate=_import("a normal import"),
        params={
            "formats": list_param(
                ["vmdk", "vpc", "vhdx", "qcow2", "raw", "qed", "vdi", "qcow", "zvhd2", "zvhd"], "formats IMS imports"
            ),
            "max_file_size": size_param("128GiB", "largest image file for a normal import"),
        },
    ),
    Check(
        id="IMG-IMS-002",
        slug="ims-fast-import",
        title="Qualifies for an IMS fast import",
        default_severity="info",
        applies_to="image",
        rationale="A fast import takes raw (with a CreateMF bitmap file) or ZVHD2 files up to 1 TiB and skips "
        "IMS's format conversion.",
        remediation={"any": "Convert to raw: qemu-img convert -p -f <format> -O raw IMAGE disk.raw, then make the "
                            "bitmap file with Huawei's CreateMF tool and upload both."},
        docs=FAST_IMPORT_DOC,
        evaluate=_import("a fast import"),
        params={
            "formats": list_param(["raw", "zvhd2"], "formats fast import takes"),
            "max_file_size": size_param("1TiB", "largest image file for a fast import"),
        },
    ),
    Check(
        id="IMG-IMS-003",
        slug="ims-cross-region-replication",
        title="Qualifies for IMS cross-region replication",
        default_severity="info",
        applies_to="image",
        rationale="IMS replicates private images to other regions only when they are at most 128 GB, not ISO "
        "and not encrypted.",
        remediation={"any": "Shrink the system disk to 128 GiB or less (virt-resize --shrink), decrypt it, or "
                            "import the image separately in each region."},
        docs=REPLICATION_DOC,
        evaluate=_replication,
        params={"max_size": size_param("128GiB", "largest image that can be replicated")},
    ),
    Check(
        id="IMG-IMS-004",
        slug="ims-export",
        title="Qualifies for IMS export to OBS",
        default_severity="info",
        applies_to="image",
        rationale="IMS exports private images under 1 TiB to a Standard OBS bucket; over 128 GiB only by fast "
        "export, which is not available for encrypted images; never ISO images.",
        remediation={"any": "Keep the source file: an image IMS cannot export can only be recovered from the original."},
        docs=EXPORT_DOC,
        evaluate=_export,
        params={
            "max_size": size_param("1TiB", "images must be smaller than this"),
            "max_normal_size": size_param("128GiB", "larger images can only be fast-exported"),
        },
    ),
)
