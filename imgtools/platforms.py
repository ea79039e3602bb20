"""What each cloud needs besides the image file: registration metadata and packaging.

One small class per platform, in an explicit registry.  Every value is derived
from the facts document (never asked of the user), so ``prepare`` can fill in
the import request the way the platform's documentation describes it.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path
from typing import Any, ClassVar

from .errors import ToolFailedError, ToolMissingError
from .facts import Facts

GIB = 1 << 30


def os_bits(facts: Facts) -> int:
    arch = facts.guest.arch if facts.guest else "unknown"
    return 32 if arch in ("i386", "i486", "i586", "i686", "armv7l", "arm") else 64


def firmware(facts: Facts) -> str:
    """bios unless the guest boots by UEFI (unknown is treated as the platforms' default, BIOS)."""
    return "uefi" if facts.boot and facts.boot.firmware == "uefi" else "bios"


def guest_type(facts: Facts) -> str:
    return facts.guest.type if facts.guest else "unknown"


def kvm_ready(facts: Facts) -> bool:
    """The guest finds its disk and NIC on virtio at first boot."""
    d = facts.drivers
    if d is None:
        return False
    return (d.virtio.blk == "ready" or d.virtio.scsi == "ready") and d.virtio.net != "absent"


def xen_ready(facts: Facts) -> bool:
    d = facts.drivers
    return d is not None and d.xen.blk == "ready" and d.xen.net != "absent"


def min_disk_gib(facts: Facts, floor: int = 1) -> int:
    """The virtual size in GiB rounded up (qemu-made VHDs can exceed their nominal size)."""
    return max(floor, math.ceil(facts.image.virtual_size / GIB))


def has_guest_tool(facts: Facts, tool: str) -> bool:
    linux = facts.facts.linux
    windows = facts.facts.windows
    tools = (linux.guest_tools if linux else []) + (windows.guest_tools if windows else [])
    return tool in tools


class Platform:
    """Registration metadata of one cloud's image service."""

    name: ClassVar[str]
    title: ClassVar[str]

    @classmethod
    def properties(cls, facts: Facts, image_file: str) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def package(cls, image: Path, out_dir: Path, name: str) -> Path:
        """The file users upload; most platforms take the image as it is."""
        return image


class HuaweiCloud(Platform):
    """Huawei Cloud IMS: image attributes and the body of "register an external image file"."""

    name = "huaweicloud"
    title = "Huawei Cloud IMS"
    #: IMS system disks are 40–1024 GB at registration.
    MIN_DISK = 40
    MAX_DISK = 1024

    @classmethod
    def os_version(cls, facts: Facts) -> str:
        """The IMS OS-version string ("Debian GNU/Linux 12.0.0 64bit", "CentOS 7.9 64bit", …)."""
        g = facts.guest
        bits = os_bits(facts)
        if g is None:
            return f"Other Linux({bits} bit)"
        names = {
            "debian": ("Debian GNU/Linux", "{major}.{minor}.0"),
            "ubuntu": ("Ubuntu", "{major:02d}.{minor:02d} server"),
            "centos": ("CentOS", "{major}.{minor}"),
            "rhel": ("Red Hat Linux", "{major}.{minor}"),
            "redhat-based": ("Red Hat Linux", "{major}.{minor}"),
            "fedora": ("Fedora", "{major}"),
            "opensuse": ("OpenSUSE", "{major}.{minor}"),
            "sles": ("SUSE Linux Enterprise Server", "{major} SP{minor}"),
            "euleros": ("EulerOS", "{major}.{minor}"),
            "openeuler": ("openEuler", "{major}.{minor}"),
            "rocky": ("Rocky Linux", "{major}.{minor}"),
            "almalinux": ("AlmaLinux", "{major}.{minor}"),
            "oraclelinux": ("Oracle Linux Server release", "{major}.{minor}"),
        }
        if g.type == "windows":
            product = g.product_name or "Windows"
            return f"{product} {bits}bit"
        if g.distro in names:
            label, version = names[g.distro]
            return f"{label} {version.format(major=g.major_version, minor=g.minor_version)} {bits}bit"
        return f"Other Linux({bits} bit)"

    @classmethod
    def properties(cls, facts: Facts, image_file: str) -> dict[str, Any]:
        kind = guest_type(facts)
        min_disk = min(max(cls.MIN_DISK, min_disk_gib(facts)), cls.MAX_DISK)
        arch = "arm" if facts.guest and facts.guest.arch in ("aarch64", "arm64") else "x86"
        attributes: dict[str, Any] = {
            "__os_version": cls.os_version(facts),
            "__os_type": {"linux": "Linux", "windows": "Windows"}.get(kind, "Other"),
            "__os_bit": str(os_bits(facts)),
            "hw_firmware_type": "uefi" if arch == "arm" else firmware(facts),
            "min_disk": min_disk,
            "architecture": arch,
        }
        # IMS reads these as "true" or absent; "false" is not a documented value.
        if kvm_ready(facts):
            attributes["__support_kvm"] = "true"
        if xen_ready(facts):
            attributes["__support_xen"] = "true"
        request = {
            "name": Path(image_file).stem,
            "image_url": f"<bucket>:{Path(image_file).name}",
            "os_version": attributes["__os_version"],
            "min_disk": min_disk,
            "is_config": False,
            "type": "ECS",
            "architecture": arch,
        }
        return {"image_attributes": attributes, "register_request": request}


class OpenStack(Platform):
    """Glance image properties (libosinfo naming for os_distro)."""

    name = "openstack"
    title = "OpenStack Glance"

    @classmethod
    def properties(cls, facts: Facts, image_file: str) -> dict[str, Any]:
        d = facts.drivers
        props: dict[str, Any] = {}
        if d and d.virtio.blk == "ready":
            props["hw_disk_bus"] = "virtio"
        elif d and d.virtio.scsi == "ready":
            props["hw_disk_bus"] = "scsi"
            props["hw_scsi_model"] = "virtio-scsi"
        else:
            props["hw_disk_bus"] = "ide"
        props["hw_vif_model"] = "virtio" if d and d.virtio.net != "absent" else "e1000"
        props["hw_firmware_type"] = firmware(facts)
        if facts.guest:
            props["os_type"] = facts.guest.type if facts.guest.type in ("linux", "windows") else "linux"
            props["os_distro"] = facts.guest.distro if facts.guest.type == "linux" else "windows"
            props["os_version"] = (
                f"{facts.guest.major_version}.{facts.guest.minor_version}"
                if facts.guest.minor_version
                else str(facts.guest.major_version)
            )
        props["hw_qemu_guest_agent"] = "yes" if has_guest_tool(facts, "qemu-guest-agent") else "no"
        return props


class Aws(Platform):
    """The ``aws ec2 import-image`` disk container (the file goes to S3 first)."""

    name = "aws"
    title = "AWS VM Import/Export"

    @classmethod
    def properties(cls, facts: Facts, image_file: str) -> dict[str, Any]:
        fmt = Path(image_file).suffix.lstrip(".").upper()
        return {
            "disk_containers": [
                {
                    "Description": Path(image_file).stem,
                    "Format": {"VPC": "VHD"}.get(fmt, fmt),
                    "UserBucket": {"S3Bucket": "<bucket>", "S3Key": Path(image_file).name},
                }
            ],
            "boot_mode": "uefi" if firmware(facts) == "uefi" else "legacy-bios",
            "platform": "Windows" if guest_type(facts) == "windows" else "Linux",
            "architecture": "arm64" if facts.guest and facts.guest.arch == "aarch64" else "x86_64",
        }


class Azure(Platform):
    """Azure managed image: a fixed VHD whose virtual size is a whole number of MiB."""

    name = "azure"
    title = "Microsoft Azure"

    @classmethod
    def properties(cls, facts: Facts, image_file: str) -> dict[str, Any]:
        return {
            "os_type": "Windows" if guest_type(facts) == "windows" else "Linux",
            "hyper_v_generation": "V2" if firmware(facts) == "uefi" else "V1",
            "blob": Path(image_file).name,
        }


class Gce(Platform):
    """Google Compute Engine: ``disk.raw`` in a sparse, gzip'ed old-GNU tar."""

    name = "gce"
    title = "Google Compute Engine"

    @classmethod
    def properties(cls, facts: Facts, image_file: str) -> dict[str, Any]:
        features = ["VIRTIO_SCSI_MULTIQUEUE"] if facts.drivers and facts.drivers.virtio.scsi == "ready" else []
        if firmware(facts) == "uefi":
            features.append("UEFI_COMPATIBLE")
        return {"raw_disk": {"source": Path(image_file).name}, "guest_os_features": features}

    @classmethod
    def package(cls, image: Path, out_dir: Path, name: str) -> Path:
        """``tar --format=oldgnu -Sczf NAME.tar.gz disk.raw``, as GCE's manual import asks."""
        tar = shutil.which("tar")
        if not tar:
            raise ToolMissingError("tar not found: install tar to package a GCE image")
        staging = out_dir / f".{name}.gce-staging"
        staging.mkdir(exist_ok=True)
        disk = staging / "disk.raw"
        target = out_dir / f"{name}.tar.gz"
        partial = out_dir / f".{name}.tar.gz.imgtools-partial"
        try:
            disk.unlink(missing_ok=True)
            disk.hardlink_to(image)
            proc = subprocess.run(
                [tar, "--format=oldgnu", "-Sczf", str(partial), "-C", str(staging), "disk.raw"],
                capture_output=True, text=True,
            )
            if proc.returncode:
                raise ToolFailedError(f"tar failed: {proc.stderr.strip() or proc.returncode}")
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
            disk.unlink(missing_ok=True)
            staging.rmdir()
        return target


#: The explicit registry, keyed by the ``platform`` a profile names.
PLATFORMS: dict[str, type[Platform]] = {cls.name: cls for cls in (HuaweiCloud, OpenStack, Aws, Azure, Gce)}
