"""Image-level checks: the file itself, from the probe and ``qemu-img`` (no guest needed)."""

from __future__ import annotations

from typing import Any, Mapping

from ..facts import Facts
from ..formats import ALIASES
from ..units import parse_size
from .registry import SIZE_SCHEMA, Check, Outcome, Param, failed, list_param, passed, size_param, skipped

IMS_LINUX_DOC = "https://support.huaweicloud.com/intl/en-us/usermanual-ims/ims_01_0209.html"
CONVERT_FIX = (
    "Convert the image to the profile's preferred format (imgtools prepare IMAGE --profile PROFILE does it), "
    "or by hand: qemu-img convert -p -f <format> -O <format> IMAGE OUTPUT"
)


def format_name(name: str) -> str:
    """qemu's driver name for what a user or profile calls a format (vhd -> vpc)."""
    return ALIASES.get(name.lower(), name.lower())


def size_text(n: int) -> str:
    """A size as people compare it with documented limits: 512.0 MiB, 2.00 GiB, 1.00 TiB."""
    for unit, shift in (("TiB", 40), ("GiB", 30)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.2f} {unit}"
    return f"{n / (1 << 20):.1f} MiB"


def _format_importable(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    image = facts.image
    allowed = {format_name(f) for f in params["formats"]}
    if format_name(image.format) not in allowed:
        return failed(f"format {image.format} is not importable; accepted: {', '.join(params['formats'])}")
    subformats = params["subformats"].get(image.format) or params["subformats"].get(format_name(image.format))
    if subformats and image.subformat not in subformats:
        return failed(
            f"{image.format} subformat {image.subformat or 'unknown'} is not importable; accepted: {', '.join(subformats)}"
        )
    shown = f"{image.format} ({image.subformat})" if image.subformat else image.format
    return passed(f"format {shown} is importable")


def _file_size(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    image = facts.image
    limit = parse_size(params["max_file_size"])
    per_format = {format_name(k): parse_size(v) for k, v in params["max_file_size_by_format"].items()}
    limit_here = per_format.get(format_name(image.format), limit)
    size = image.file_size
    if size > limit_here:
        return failed(f"image file is {size_text(size)}, over the {size_text(limit_here)} limit for {image.format}")
    if size > limit:
        return passed(f"image file is {size_text(size)}: over {size_text(limit)}, allowed for {image.format} up to {size_text(limit_here)}")
    return passed(f"image file is {size_text(size)} (limit {size_text(limit)})")


def _disk_size(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    size = facts.image.virtual_size
    low, high = parse_size(params["min_disk"]), parse_size(params["max_disk"])
    if size < low:
        return failed(f"virtual disk is {size_text(size)}, under the {size_text(low)} minimum")
    if size > high:
        return failed(f"virtual disk is {size_text(size)}, over the {size_text(high)} maximum system disk")
    return passed(f"virtual disk is {size_text(size)}, within {size_text(low)}–{size_text(high)}")


def _alignment(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    size, unit = facts.image.virtual_size, parse_size(params["alignment"])
    if size % unit:
        return failed(f"virtual size {size} bytes is not a multiple of {unit} bytes (remainder {size % unit})")
    return passed(f"virtual size {size} bytes is a multiple of {unit} bytes")


def _not_encrypted(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    if facts.image.encrypted:
        return failed(f"the {facts.image.format} image is encrypted")
    luks = facts.facts.storage.luks_devices
    if luks:
        return failed(f"the guest has LUKS-encrypted volumes: {', '.join(luks)}")
    inspected = "" if facts.guest else " (guest not inspected: in-guest encryption unknown)"
    return passed(f"no image or volume encryption found{inspected}")


def _probe_safe(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    if facts.image.safe:
        return passed("the probe found nothing unsafe in the image header")
    reasons = "; ".join(f"{v.id}: {v.message}" for v in facts.image.violations) or "no reason recorded"
    return failed(f"the probe rejected the image: {reasons}")


def _qemu_check(bad_status: str, describe) -> Any:
    """A check function that fails when ``qemu-img check`` reported ``bad_status``."""

    def evaluate(facts: Facts, params: Mapping[str, Any]) -> Outcome:
        result = facts.image.check
        if result is None:
            return skipped("qemu-img check was not run on this image")
        if result.status == "unsupported":
            return skipped(f"qemu-img check cannot check the {facts.image.format} format")
        if result.status == bad_status:
            return failed(describe(result))
        return passed(f"qemu-img check: {result.status}")

    return evaluate


CHECKS = (
    Check(
        id="IMG-IMG-001",
        slug="format-importable",
        title="The image format is one the platform imports",
        default_severity="error",
        applies_to="image",
        rationale="The import service refuses files in formats it cannot read, or in subformats such as a "
        "VMDK that is not streamOptimized (AWS) or a dynamic VHD (Azure).",
        remediation={"any": CONVERT_FIX},
        docs=IMS_LINUX_DOC,
        evaluate=_format_importable,
        params={
            "formats": list_param(
                ["vmdk", "vpc", "vhdx", "qcow2", "raw", "qed", "vdi", "qcow"],
                "formats the platform imports (qemu names or common aliases: vhd = vpc)",
            ),
            "subformats": Param(
                {}, {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                "format -> the only subformats accepted for it, e.g. {vmdk: [streamOptimized]}",
            ),
        },
    ),
    Check(
        id="IMG-IMG-002",
        slug="file-size",
        title="The image file is within the upload size limit",
        default_severity="error",
        applies_to="image",
        rationale="Import services cap the size of the uploaded file (Huawei IMS: 128 GiB for a normal "
        "import, 1 TiB for a fast import of raw or ZVHD2).",
        remediation={
            "any": "Shrink the file: zero free space in the guest (fstrim -av, or virt-sparsify --in-place IMAGE), "
            "then convert to a compressed or sparse format: qemu-img convert -p -c -f <format> -O qcow2 IMAGE OUT.qcow2; "
            "for Huawei IMS images up to 1 TiB use fast import of a raw file instead."
        },
        docs=IMS_LINUX_DOC,
        evaluate=_file_size,
        params={
            "max_file_size": size_param("128GiB", "largest image file accepted"),
            "max_file_size_by_format": Param(
                {}, {"type": "object", "additionalProperties": SIZE_SCHEMA},
                "format -> a larger limit for that format (e.g. fast import of raw)",
            ),
        },
    ),
    Check(
        id="IMG-IMG-003",
        slug="disk-size",
        title="The virtual disk fits the system-disk size limits",
        default_severity="error",
        applies_to="image",
        rationale="The image becomes the system disk; it may not be smaller or larger than the platform's "
        "system disks (Huawei IMS: 1 GiB to 1 TiB).",
        remediation={
            "any": "Too large: shrink the file systems and partitions in the guest, then virt-resize --shrink "
            "to a smaller disk; too small: qemu-img resize -f <format> IMAGE <size> and grow the root partition "
            "(growpart, resize2fs or xfs_growfs) or let cloud-init grow it."
        },
        docs=IMS_LINUX_DOC,
        evaluate=_disk_size,
        params={
            "min_disk": size_param("1GiB", "smallest system disk"),
            "max_disk": size_param("1TiB", "largest system disk"),
        },
    ),
    Check(
        id="IMG-IMG-004",
        slug="size-alignment",
        title="The virtual size is a whole number of MiB",
        default_severity="error",
        applies_to="image",
        rationale="Azure rejects VHDs whose virtual size is not a multiple of 1 MiB ('unsupported virtual size').",
        remediation={
            "any": "Round the size up to the next MiB and write a fixed VHD: qemu-img resize -f raw disk.raw <size-rounded-up>; "
            "qemu-img convert -f raw -O vpc -o subformat=fixed,force_size disk.raw disk.vhd "
            "(imgtools prepare IMAGE --profile azure does both)."
        },
        docs="https://learn.microsoft.com/en-us/azure/virtual-machines/linux/create-upload-generic",
        evaluate=_alignment,
        params={"alignment": size_param("1MiB", "the virtual size must be a multiple of this")},
    ),
    Check(
        id="IMG-IMG-005",
        slug="not-encrypted",
        title="Neither the image nor its volumes are encrypted",
        default_severity="error",
        applies_to="image",
        rationale="Import services cannot open encrypted images or software-encrypted guest volumes "
        "(LUKS): the import fails, or the imported VM waits for a passphrase nobody can type.",
        remediation={
            "any": "Decrypt before export: qemu-img convert --object secret,id=sec0,file=KEYFILE "
            "--image-opts driver=<format>,encrypt.key-secret=sec0,file.filename=IMAGE -O qcow2 OUT.qcow2; "
            "for LUKS volumes in the guest, copy the data to an unencrypted volume (cryptsetup reencrypt --decrypt "
            "on LUKS2) and update /etc/crypttab and /etc/fstab."
        },
        docs=IMS_LINUX_DOC,
        evaluate=_not_encrypted,
    ),
    Check(
        id="IMG-IMG-006",
        slug="probe-safe",
        title="The probe judged the image safe to open",
        default_severity="error",
        applies_to="image",
        rationale="An image with a backing file, an external data file, a format mismatch or a hostile "
        "header can leak host files or exhaust the importer; no cloud imports it, and imgtools does not open it.",
        remediation={
            "any": "Rebuild the image from its source as a standalone file: for a backing chain, on a trusted "
            "host run qemu-img convert -O qcow2 TOP.qcow2 FLAT.qcow2 (it flattens the chain); re-export "
            "the VM otherwise.  imgtools probe IMAGE names each violation."
        },
        docs="https://docs.openstack.org/glance/latest/admin/interoperable-image-import.html",
        evaluate=_probe_safe,
    ),
    Check(
        id="IMG-IMG-007",
        slug="not-corrupt",
        title="qemu-img check finds no corruption",
        default_severity="error",
        applies_to="image",
        rationale="A corrupt image converts into a guest with damaged file systems, if it converts at all.",
        remediation={
            "any": "Re-export the image from the source VM (shut down cleanly first).  As a last resort "
            "qemu-img check -r all -f <format> COPY repairs a copy; check the guest's file systems afterwards."
        },
        docs="https://www.qemu.org/docs/master/tools/qemu-img.html",
        evaluate=_qemu_check("corrupt", lambda r: f"qemu-img check found {r.corruptions} corruptions"),
    ),
    Check(
        id="IMG-IMG-008",
        slug="no-leaks",
        title="qemu-img check finds no leaked clusters",
        default_severity="warning",
        applies_to="image",
        rationale="Leaked clusters waste space but lose no data; they hint the image was not closed cleanly.",
        remediation={"any": "qemu-img check -r leaks -f <format> COPY, or convert: conversion drops leaked clusters."},
        docs="https://www.qemu.org/docs/master/tools/qemu-img.html",
        evaluate=_qemu_check("leaks", lambda r: f"qemu-img check found {r.leaks} leaked clusters"),
    ),
)
