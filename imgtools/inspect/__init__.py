"""Guest inspection: what is inside the image, read safely through libguestfs.

:func:`gather_facts` probes the image (untrusted header parsing), runs
``qemu-img check``, and only when both allow it launches ONE read-only
libguestfs appliance in which every fact is gathered.  The result is a
:class:`~imgtools.facts.Facts` document, cached by image identity so that
checking the same image again costs no launch.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

from .. import __version__, qemu
from ..errors import ToolFailedError
from ..facts import Boot, Facts, Guest
from ..imagefacts import ImageFacts, QemuCheck
from ..probe import probe, require_safe
from . import derive, factcache
from .families import family_of
from .linux import fill_boot, gather_linux
from .reader import GuestFiles
from .roots import Root, find_roots
from .session import Drive, open_drives
from .storage import Disks, canonical, gather_disks, usage
from .windows import gather_windows

Progress = Callable[[str], None]

#: qemu-img check exit status -> what it means.
_CHECK_STATUS = {0: "clean", 1: "corrupt", 2: "corrupt", 3: "leaks", 63: "unsupported"}


def qemu_check(image: ImageFacts) -> QemuCheck:
    """``qemu-img check`` on a probe-safe image (exit 0 clean, 1 check failed, 2 corrupt, 3 leaks, 63 no check)."""
    try:
        result = qemu.run(qemu.check_argv(image.path, image.format), ok_codes=tuple(_CHECK_STATUS))
    except ToolFailedError as exc:
        return QemuCheck(status="corrupt", message=str(exc))
    status = _CHECK_STATUS[result.returncode]
    if status == "unsupported":
        return QemuCheck(status="unsupported")
    data = result.json() if result.stdout.strip() else {}
    message = result.stderr.splitlines()[-1] if result.returncode == 1 and result.stderr else ""
    return QemuCheck(
        status=status,
        leaks=int(data.get("leaks", 0)),
        corruptions=int(data.get("corruptions", 0)) + int(data.get("check-errors", 0)),
        message=message,
    )


def gather_facts(
    path: str,
    *,
    format_hint: str | None = None,
    refresh: bool = False,
    extra_disks: Sequence[str] = (),
    on_progress: Progress | None = None,
) -> Facts:
    """Everything known about the image at ``path`` (plus the guest's other disks, in order).

    An image the probe calls unsafe, or that ``qemu-img check`` finds
    corrupt, is never opened by libguestfs: its facts have ``guest=None``.
    ``refresh`` ignores the cache and rewrites it.
    """
    notify = on_progress or (lambda message: None)
    image = probe(path, format_hint)
    others = [probe(p) for p in extra_disks]
    facts = Facts(imgtools_version=__version__, image=image)
    if not image.safe or not all(o.safe for o in others):
        for other in others:
            if not other.safe:
                facts.facts.inspection.warnings.append(f"{other.path} is unsafe: not inspected")
        return facts

    key = factcache.cache_key([image.path, *(o.path for o in others)])
    if not refresh:
        cached = factcache.load(key)
        if cached is not None:
            cached.image.path = image.path
            return cached

    notify("checking image integrity (qemu-img check)…")
    image.check = qemu_check(image)
    if image.check.status == "corrupt":
        facts.facts.inspection.warnings.append(
            f"qemu-img check found the image corrupt ({image.check.corruptions} errors): not inspected; "
            "repair a copy with 'qemu-img check -r all'"
        )
        return facts
    inspect_guest(facts, [image, *others], notify)
    factcache.store(key, facts)
    return facts


def inspect_guest(facts: Facts, images: Sequence[ImageFacts], notify: Progress) -> None:
    """Launch one appliance for all the disks and fill ``facts`` in place."""
    for image in images:
        require_safe(image)
    started = time.monotonic()
    details = facts.facts
    details.disks = len(images)
    with open_drives([Drive(i.path, i.format) for i in images], on_progress=notify) as appliance:
        g = appliance.g
        details.inspection.backend = appliance.backend
        details.inspection.appliance_kernel = appliance.fast_kernel
        version = g.version()
        details.inspection.libguestfs_version = f"{version['major']}.{version['minor']}.{version['release']}"
        files = GuestFiles(g, details.inspection.warnings)
        notify("reading partitions and volumes…")
        disks = gather_disks(g, files)
        details.storage = disks.storage
        facts.boot = Boot(
            partition_table=disks.partition_table,
            partitions=disks.partitions,
            firmware=derive.firmware(disks.partition_table, disks.partitions),
            has_esp=any(derive.is_esp(p, disks.partition_table) for p in disks.partitions if p.disk_index == 0),
            has_bios_boot=any(derive.is_bios_boot(p) for p in disks.partitions if p.disk_index == 0),
        )
        notify("looking for the operating system…")
        roots = find_roots(g, files, disks)
        if not roots:
            files.warn("no operating system found on the image")
        else:
            details.inspection.os_detected_by = roots[0].detected_by
            if len(roots) > 1:
                files.warn(f"{len(roots)} operating systems found (multi-boot); "
                           f"inspected the one on {roots[0].device}")
            notify("reading the guest…")
            _inspect_root(g, files, disks, facts, roots[0])
    details.inspection.seconds = round(time.monotonic() - started, 3)


def _mount_all(g, files: GuestFiles, root: Root) -> dict[str, str]:
    """Mount the guest's filesystems read-only inside the appliance; return mountpoint -> device."""
    mounted = {}
    for mountpoint, device in sorted(root.mountpoints.items(), key=lambda item: len(item[0])):
        try:
            g.mount_ro(device, mountpoint)
            mounted[mountpoint] = device
        except RuntimeError as exc:
            files.warn(f"could not mount {device} on {mountpoint}: {str(exc).splitlines()[0]}")
    return mounted


def read_guest(g, files: GuestFiles, root: str) -> Guest:
    """The OS as libguestfs names it (type linux|windows…, distro debian|rhel|ubuntu|sles…)."""
    def get(method: str, default):
        value = files.attempt(f"the guest's {method.removeprefix('inspect_get_')}", getattr(g, method), root)
        return default if value is None else value

    return Guest(
        type=get("inspect_get_type", "unknown"),
        distro=get("inspect_get_distro", "unknown"),
        major_version=get("inspect_get_major_version", 0),
        minor_version=get("inspect_get_minor_version", 0),
        arch=get("inspect_get_arch", "unknown"),
        product_name=get("inspect_get_product_name", ""),
        hostname=get("inspect_get_hostname", ""),
        package_format=get("inspect_get_package_format", "unknown"),
        package_management=get("inspect_get_package_management", "unknown"),
    )


def _inspect_root(g, files: GuestFiles, disks: Disks, facts: Facts, root: Root) -> None:
    mounted = _mount_all(g, files, root)
    try:
        by_device = {canonical(g, device): mp for mp, device in mounted.items()}
        for part in facts.boot.partitions:
            part.mountpoint = by_device.get(part.device)
        guest_type = root.guest.type if root.guest else files.attempt(
            "the guest type", g.inspect_get_type, root.device, default="unknown")
        try:
            GATHERERS.get(guest_type, _gather_other)(g, files, disks, facts, root)
            _storage_facts(g, files, disks, facts, mounted)
        except RuntimeError as exc:  # the appliance itself failed mid-way: keep what was read
            files.warn(f"reading the guest stopped early: {str(exc).splitlines()[0] if str(exc) else exc}")
    finally:
        files.attempt("unmounting", g.umount_all)


def _storage_facts(g, files: GuestFiles, disks: Disks, facts: Facts, mounted: dict[str, str]) -> None:
    storage = facts.facts.storage
    root_device = canonical(g, mounted["/"]) if "/" in mounted else None
    if root_device:
        storage.root_on_lvm = root_device in disks.lv_groups
        storage.root_spans_disks = len(disks.disks_under(root_device)) > 1
        storage.root_fstype = _fstype(g, files, disks, root_device)
    for mountpoint in ("/", "/boot"):
        device = canonical(g, mounted.get(mountpoint) or mounted.get("/", ""))
        found = usage(g, files, mountpoint, device, _fstype(g, files, disks, device)) if device else None
        if found:
            storage.filesystems.append(found)
    boot_devices = [mounted[mp] for mp in ("/", "/boot", "/boot/efi") if mp in mounted]
    if facts.boot and boot_devices:
        facts.boot.boot_on_system_disk = all(disks.disks_under(canonical(g, d)) == {0} for d in boot_devices)


def _fstype(g, files: GuestFiles, disks: Disks, device: str) -> str | None:
    """What blkid said of a partition or an unpartitioned disk, else (a logical volume) asked."""
    return disks.filesystem(device) or files.attempt(f"the filesystem on {device}", g.vfs_type, device)


def _gather_linux(g, files: GuestFiles, disks: Disks, facts: Facts, root: Root) -> None:
    facts.guest = root.guest or read_guest(g, files, root.device)
    result = gather_linux(files, family_of(facts.guest.distro), disks)
    facts.facts.linux = result.linux
    facts.drivers = result.drivers
    facts.linux = result.summary
    default = next((k for k in result.linux.kernels if k.is_default), None)
    fill_boot(facts.boot, result.loader, default)


def _gather_windows(g, files: GuestFiles, disks: Disks, facts: Facts, root: Root) -> None:
    result = gather_windows(g, root.device)
    facts.guest = result.guest
    facts.facts.windows = result.windows
    facts.drivers = result.drivers
    facts.boot = result.boot.model_copy(update={
        "partition_table": facts.boot.partition_table,
        "partitions": facts.boot.partitions,
        "firmware": facts.boot.firmware,
        "has_esp": facts.boot.has_esp,
        "has_bios_boot": facts.boot.has_bios_boot,
    })
    for warning in result.warnings:
        files.warn(warning)


def _gather_other(g, files: GuestFiles, disks: Disks, facts: Facts, root: Root) -> None:
    facts.guest = root.guest or read_guest(g, files, root.device)
    files.warn(f"imgtools reads no boot or driver facts for {facts.guest.type} guests yet")


#: Guest type (libguestfs' inspect_get_type) -> what reads it.
GATHERERS = {"linux": _gather_linux, "windows": _gather_windows}
