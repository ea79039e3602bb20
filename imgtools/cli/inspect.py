"""`imgtools inspect`: what is inside the image, read safely through libguestfs."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from .output import human_size, print_json

if TYPE_CHECKING:
    from ..facts import Facts

DESCRIPTION = """\
Report what decides whether the guest in IMAGE boots on a cloud: OS, firmware,
boot loader and default kernel, which virtio / Xen / Hyper-V drivers are
available at first boot (ready), only on disk (installed) or missing (absent),
fstab, network configuration, cloud-init, guest tools.

IMAGE is probed first; an unsafe image is never opened.  A safe one is read in
ONE read-only libguestfs appliance (KVM, or TCG where KVM is broken: the
verdict is remembered).  The facts are cached by image identity, so
inspecting or checking the same image again costs no appliance launch.
"""

EPILOG = """\
examples:
  imgtools inspect disk.qcow2
  imgtools inspect --json --no-cache export.vmdk
  imgtools inspect --disk data.vmdk system.vmdk     # a guest whose LVM spans two disks

exit codes:
  0  the guest was inspected (warnings are listed, they do not fail)
  1  the image is unsafe (probe violations) or corrupt (qemu-img check): not opened
  2  usage or environment error (missing file, appliance failed to start)
"""


def register(sub) -> None:
    parser = sub.add_parser(
        "inspect",
        help="report the guest's OS, boot, drivers, network and cloud-init (read-only libguestfs)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("image", metavar="IMAGE", help="the system disk image (never modified)")
    parser.add_argument("--json", action="store_true", help="print the facts document as one JSON object")
    parser.add_argument("--no-cache", action="store_true", help="inspect afresh and refresh the cached facts")
    parser.add_argument("--format-hint", metavar="FMT", help="the format IMAGE is declared to be (vmdk, vhd, …)")
    parser.add_argument("--disk", metavar="PATH", action="append", default=[],
                        help="another disk of the same guest, in bus order (repeatable)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..inspect import gather_facts

    progress = _stderr_progress() if sys.stderr.isatty() else None
    facts = gather_facts(args.image, format_hint=args.format_hint, refresh=args.no_cache,
                         extra_disks=args.disk, on_progress=progress)
    if args.json:
        print_json(facts)
    else:
        print(render(facts))
    return 0 if inspected(facts) else 1


def inspected(facts: Facts) -> bool:
    """The image was opened: safe, and not found corrupt by qemu-img check."""
    check = facts.image.check
    return facts.image.safe and check is not None and check.status != "corrupt"


def _stderr_progress():
    def show(message: str) -> None:
        sys.stderr.write(f"\r\033[K{message}")
        sys.stderr.flush()
        if message == "reading the guest…":
            sys.stderr.write("\n")
    return show


def render(facts: Facts) -> str:
    image = facts.image
    lines = [f"image:        {image.path} ({image.format}, {human_size(image.virtual_size)} virtual)"]
    if not image.safe:
        lines.append("verdict:      UNSAFE, not opened")
        lines += [f"  - {v.id}: {v.message}" for v in image.violations]
        return "\n".join(lines + _warnings(facts))
    guest, boot, details = facts.guest, facts.boot, facts.facts
    if guest:
        lines.append(f"os:           {guest.product_name or guest.distro} ({guest.type}/{guest.distro} "
                     f"{guest.major_version}.{guest.minor_version}, {guest.arch}), hostname {guest.hostname or '?'}")
    if boot:
        lines.append(f"firmware:     {boot.firmware} ({boot.partition_table} partition table"
                     f"{', ESP' if boot.has_esp else ''}{', BIOS boot partition' if boot.has_bios_boot else ''})")
        lines.append(f"boot loader:  {boot.bootloader}" + (f" ({', '.join(boot.config_paths)})" if boot.config_paths else ""))
        if boot.default_kernel or boot.cmdline:
            lines.append(f"kernel:       {boot.default_kernel or '?'}  {boot.cmdline or ''}".rstrip())
    if facts.drivers:
        drivers = facts.drivers.model_dump()
        lines.append("drivers:      (ready: available at first boot; installed: on disk only)")
        for family in ("virtio", "xen", "hyperv"):
            lines.append(f"  {family:<12}" + "  ".join(f"{name} {state}" for name, state in drivers[family].items()))
    linux = details.linux
    if linux:
        lines.append(f"initramfs:    {linux.initramfs_tool}; kernels: "
                     + ", ".join(k.version + (" (default)" if k.is_default else "") for k in linux.kernels))
        nets = [f"{i.name} {i.method}{' mac ' + i.mac if i.mac else ''} ({i.source})" for i in linux.network.interfaces]
        lines.append(f"network:      {'; '.join(nets) or 'no configuration found'}")
        if linux.network.udev_net_rules or linux.network.udev_net_rules_in_initramfs:
            lines.append("udev rules:   " + ", ".join(linux.network.udev_net_rules
                                                       + [f"{r} (in initramfs)" for r in linux.network.udev_net_rules_in_initramfs]))
        cloud = linux.cloud_init
        lines.append("cloud-init:   " + (f"{cloud.version or 'installed'}, datasources {cloud.datasources or 'default'}"
                                         if cloud.installed else "not installed"))
        summary = facts.linux
        if summary:
            lines.append(f"fstab:        {'by UUID' if summary.fstab_by_uuid else 'NOT by UUID'}; "
                         f"DHCP {'yes' if summary.dhcp else 'no'}; ssh server {'yes' if linux.ssh_server.installed else 'no'}; "
                         f"SELinux {linux.selinux}")
        if linux.guest_tools:
            lines.append(f"guest tools:  {', '.join(linux.guest_tools)}")
    windows = details.windows
    if windows:
        lines.append(f"windows:      {windows.product_name} {windows.version} ({windows.arch}); "
                     f"cloudbase-init {'yes' if windows.cloudbase_init else 'no'}; RDP {windows.rdp_enabled}")
    storage = details.storage
    if storage.volume_groups or storage.luks_devices:
        lines.append("storage:      " + "; ".join(
            [f"VG {vg.name} on disk(s) {vg.disks}" for vg in storage.volume_groups]
            + [f"LUKS {d}" for d in storage.luks_devices]))
    for fs in storage.filesystems:
        lines.append(f"free {fs.mountpoint:<8}{human_size(fs.free)} of {human_size(fs.size)}, "
                     f"{fs.free_inodes} inodes free")
    lines.append(f"inspected:    {details.inspection.backend.upper()} in {details.inspection.seconds:.1f} s")
    return "\n".join(lines + _warnings(facts))


def _warnings(facts: Facts) -> list[str]:
    warnings = facts.facts.inspection.warnings
    return (["warnings:"] + [f"  - {w}" for w in warnings]) if warnings else []
