"""Linux guest facts: read only what decides the first boot, in the one appliance launch.

The caller has launched the appliance, found the root (:mod:`.roots`) and mounted the
guest read-only.  Here we read files (never run guest code) and hand their
text to the pure parsers in :mod:`imgtools.inspect.parse`; the only bytes
that leave the appliance are the initramfs archives, downloaded to a host
temporary file and listed by :func:`~imgtools.inspect.parse.initramfs.list_initramfs`
(the host reads bytes, it never mounts anything).  No package database is
listed: that is what makes virt-inspector slow.
"""

from __future__ import annotations

import posixpath
import re
import tempfile
from dataclasses import dataclass
from typing import ClassVar

from ..facts import (
    Boot, CloudInit, DeviceSpec, Drivers, FstabEntry, Kernel, LinuxFacts, LinuxSummary, Network, NetInterface,
    Service,
)
from . import derive
from .families import Family
from .parse.bootconfig import (
    BootConfig, kernel_args, kernel_version_from_path, initramfs_version_from_path, parse_bls, parse_extlinux,
    parse_grub2_cfg, parse_grub_legacy, parse_grubenv, parse_loader_conf,
)
from .parse.cloudinit import parse_cloud_config
from .parse.devspec import classify, tag_value
from .parse.fstab import parse_fstab
from .parse.initramfs import list_initramfs
from .parse.kconfig import parse_kernel_config, parse_modules_builtin
from .parse.modules import CATALOGUE, is_module_file, module_name
from .parse.network import interfaces_includes
from .parse.selinux import parse_selinux_config
from .parse.shellvars import shell_vars
from .parse.udev import is_persistent_net_rule, net_rules_in_listing
from .reader import GuestFiles
from .storage import Disks, canonical

#: An initramfs larger than this is not downloaded (real ones are 10–100 MiB).
MAX_INITRAMFS_BYTES = 512 << 20


# -- boot loaders: one small class each, tried in order --

class Bootloader:
    name: ClassVar[str]
    #: Config files (globs allowed), most authoritative first.
    configs: ClassVar[tuple[str, ...]]

    @classmethod
    def find(cls, files: GuestFiles) -> list[str]:
        found: list[str] = []
        for pattern in cls.configs:
            found += files.glob(pattern) if "*" in pattern else ([pattern] if files.exists(pattern) else [])
        return found

    @classmethod
    def parse(cls, files: GuestFiles, paths: list[str]) -> BootConfig | None:
        raise NotImplementedError


class Grub2(Bootloader):
    name = "grub2"
    configs = ("/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/boot/efi/EFI/*/grub.cfg")

    @classmethod
    def parse(cls, files: GuestFiles, paths: list[str]) -> BootConfig | None:
        # On UEFI the ESP's grub.cfg is usually a stub that loads the real one from /boot.
        main = paths[0]
        text = files.text(main) or ""
        env = parse_grubenv(files.text(posixpath.join(posixpath.dirname(main), "grubenv")) or "")
        if re.search(r"^\s*blscfg\b", text, re.MULTILINE):
            entries = files.texts("/boot/loader/entries/*.conf")
            if entries:
                return parse_bls(entries, env.get("saved_entry"), env)
        return parse_grub2_cfg(text, env)


class GrubLegacy(Bootloader):
    name = "grub"
    configs = ("/boot/grub/menu.lst", "/boot/grub/grub.conf", "/etc/grub.conf")

    @classmethod
    def parse(cls, files: GuestFiles, paths: list[str]) -> BootConfig | None:
        return parse_grub_legacy(files.text(paths[0]) or "")


class SystemdBoot(Bootloader):
    name = "systemd-boot"
    configs = ("/boot/efi/loader/loader.conf", "/efi/loader/loader.conf", "/boot/loader/loader.conf")

    @classmethod
    def parse(cls, files: GuestFiles, paths: list[str]) -> BootConfig | None:
        conf = parse_loader_conf(files.text(paths[0]) or "")
        entries = files.texts(posixpath.join(posixpath.dirname(paths[0]), "entries/*.conf"))
        return parse_bls(entries, conf.get("default"))


class Extlinux(Bootloader):
    name = "extlinux"
    configs = ("/boot/extlinux/extlinux.conf", "/boot/syslinux/syslinux.cfg", "/boot/extlinux.conf",
               "/extlinux.conf", "/syslinux.cfg")

    @classmethod
    def parse(cls, files: GuestFiles, paths: list[str]) -> BootConfig | None:
        return parse_extlinux(files.text(paths[0]) or "")


BOOTLOADERS: tuple[type[Bootloader], ...] = (Grub2, GrubLegacy, SystemdBoot, Extlinux)


@dataclass
class BootLoaderFacts:
    name: str = "unknown"
    config_paths: list[str] | None = None
    config: BootConfig | None = None


def read_bootloader(files: GuestFiles) -> BootLoaderFacts:
    for loader in BOOTLOADERS:
        paths = loader.find(files)
        if paths:
            return BootLoaderFacts(loader.name, paths, loader.parse(files, paths))
    return BootLoaderFacts("none", [])


# -- initramfs tools: recognised by the archive first, then by the tool on disk --

@dataclass(frozen=True)
class InitramfsTool:
    name: str
    binaries: tuple[str, ...]
    #: Archive members only this tool writes.
    members: tuple[str, ...]


INITRAMFS_TOOLS = (
    InitramfsTool("dracut", ("/usr/bin/dracut", "/usr/sbin/dracut", "/sbin/dracut"),
                  ("usr/lib/dracut/", "lib/dracut/")),
    InitramfsTool("initramfs-tools", ("/usr/sbin/update-initramfs", "/usr/sbin/mkinitramfs"),
                  ("conf/initramfs.conf", "scripts/init-top/")),
    InitramfsTool("mkinitrd", ("/sbin/mkinitrd", "/usr/sbin/mkinitrd", "/usr/bin/mkinitrd"), ("mkinitrd.config",)),
)


def initramfs_tool(files: GuestFiles, family: type[Family], members: list[str]) -> str:
    for tool in INITRAMFS_TOOLS:
        if any(m.removeprefix("./").startswith(tool.members) for m in members):
            return tool.name
    for tool in INITRAMFS_TOOLS:
        if any(files.exists(path) for path in tool.binaries):
            return tool.name
    return family.initramfs_tool


# -- kernels --

_KERNEL_FILES = ("vmlinuz-", "vmlinux-", "bzImage-", "zImage-", "Image-")


@dataclass
class KernelRead:
    kernel: Kernel
    members: list[str]


def _modules_root(files: GuestFiles) -> str:
    for candidate in ("/lib/modules", "/usr/lib/modules"):
        resolved = files.realpath(candidate)
        if resolved and files.g.is_dir(resolved):
            return resolved
    return "/lib/modules"


def _modules_on_disk(files: GuestFiles, directory: str) -> set[str]:
    """The catalogue's module files under ``directory``.

    modules.dep (what modprobe, dracut and initramfs-tools go by) says where
    each module is, so one call checks that the catalogue's files are there;
    listing the whole tree (thousands of files, most of a second under TCG)
    is the fallback for a guest without it.
    """
    dep = files.text(f"{directory}/modules.dep")
    listed = [line.split(":", 1)[0].strip() for line in (dep or "").splitlines() if ":" in line]
    if listed:
        wanted = [posixpath.join(directory, path) for path in listed if module_name(path) in CATALOGUE]
        return {path.rstrip("/") for path in files.existing(wanted)}
    listing = files.attempt(directory, files.g.find, directory, default=[])
    return {path for path in listing if is_module_file(path)}


def _initramfs_path(boot_listing: list[str], version: str, family: type[Family]) -> str | None:
    names = [name for name in boot_listing if initramfs_version_from_path(name) == version]
    preferred = [posixpath.basename(pattern.format(v=version)) for pattern in family.initramfs]
    names.sort(key=lambda name: preferred.index(name) if name in preferred else len(preferred))
    return f"/boot/{names[0]}" if names else None


def _list_initramfs(files: GuestFiles, path: str):
    size = files.attempt(path, files.g.filesize, path)
    if size is None:
        return None
    if size > MAX_INITRAMFS_BYTES:
        files.warn(f"skipped {path}: {size} bytes is too large for an initramfs")
        return None
    with tempfile.NamedTemporaryFile(prefix="imgtools-initramfs-") as local:
        if files.attempt(path, files.g.download, path, local.name, default=False) is False:
            return None
        with open(local.name, "rb") as stream:
            listing = list_initramfs(stream)
    if not listing.complete:
        files.warn(f"{path}: the initramfs archive could not be read to its end; its module list may be incomplete")
    return listing


def read_kernel(files: GuestFiles, family: type[Family], boot_listing: list[str], modules_root: str,
                name: str) -> KernelRead | None:
    version = kernel_version_from_path(name)
    if not version:
        return None
    modules_dir = f"{modules_root}/{version}"
    config = parse_kernel_config(files.text(f"/boot/config-{version}") or files.text(f"{modules_dir}/config") or "")
    builtin = parse_modules_builtin(files.text(f"{modules_dir}/modules.builtin") or "")
    initramfs = _initramfs_path(boot_listing, version, family)
    listing = _list_initramfs(files, initramfs) if initramfs else None
    members = listing.members if listing else []
    kernel = Kernel(
        version=version,
        path=f"/boot/{name}",
        initramfs=initramfs,
        initramfs_readable=bool(listing and listing.complete),
        initramfs_compression="+".join(listing.compression) if listing and listing.compression else None,
        modules=derive.module_states(_modules_on_disk(files, modules_dir), config, builtin,
                                     members if listing else None),
    )
    return KernelRead(kernel, members)


def read_kernels(files: GuestFiles, family: type[Family]) -> list[KernelRead]:
    boot_listing = files.ls("/boot")
    modules_root = _modules_root(files)
    reads = [read_kernel(files, family, boot_listing, modules_root, name)
             for name in boot_listing if name.startswith(_KERNEL_FILES)]
    return [read for read in reads if read is not None]


# -- fstab and devices --

_GUEST_DISK = re.compile(r"^/dev/(?:[shv]d|xvd)([a-z])\d*$|^/dev/nvme(\d+)n\d+(?:p\d+)?$")


def guest_disk_index(name: str) -> int | None:
    """/dev/sdb1, /dev/vdb, /dev/xvdb2 → 1; /dev/nvme1n1p1 → 1 (the guest's own naming)."""
    match = _GUEST_DISK.match(name)
    if not match:
        return None
    return ord(match.group(1)) - ord("a") if match.group(1) else int(match.group(2))


def resolve_device(g, disks: Disks, spec: DeviceSpec) -> str | None:
    """The appliance device a spec names, when the image holds it.

    A partition's UUID or label is already in the partition list (blkid read
    them); the appliance is asked only about the rest (LVs, LUKS contents).
    """
    value = tag_value(spec)
    if spec.kind in ("uuid", "label") and value:
        known = disks.partition_named(spec.kind, value)
        if known:
            return known
        try:
            return (g.findfs_uuid if spec.kind == "uuid" else g.findfs_label)(value)
        except RuntimeError:
            return None
    if spec.kind == "lvm":
        device = canonical(g, spec.raw)
        return device if device in disks.lv_groups else None
    return None


def on_system_disk(g, disks: Disks, spec: DeviceSpec) -> bool | None:
    """True when the device is (only) on disk 0; None when the name cannot be resolved."""
    if spec.kind == "device":
        index = guest_disk_index(spec.raw)
        return None if index is None else index == 0
    device = resolve_device(g, disks, spec)
    if device is None:
        # A UUID, label or volume the given disks do not hold lives on another disk.
        return False if spec.kind in ("uuid", "label", "lvm") else None
    return disks.disks_under(device) == {0}


def read_fstab(files: GuestFiles, disks: Disks) -> list[FstabEntry]:
    entries = parse_fstab(files.text("/etc/fstab") or "")
    for entry in entries:
        if derive.needs_block_device(entry) or entry.nofail:
            entry.on_system_disk = on_system_disk(files.g, disks, entry.spec)
    return entries


# -- network, cloud-init, services, guest tools --

def read_network(files: GuestFiles, family: type[Family], initramfs_members: list[list[str]]) -> Network:
    interfaces: list[NetInterface] = []
    for name, patterns, parser in family.network_sources():
        for pattern in patterns:
            for path, text in files.texts(pattern):
                interfaces += parser(path, text)
                if name == "interfaces":
                    interfaces += _interfaces_includes(files, text, parser)
    rules = [path for path, text in files.texts("/etc/udev/rules.d/*.rules") if is_persistent_net_rule(path, text)]
    in_initramfs = sorted({rule for members in initramfs_members for rule in net_rules_in_listing(members)})
    sysconfig = files.text("/etc/sysconfig/network")
    nozeroconf = None
    if sysconfig is not None:
        nozeroconf = shell_vars(sysconfig).get("NOZEROCONF", "").lower() in ("yes", "true", "1")
    return Network(interfaces=interfaces, udev_net_rules=rules, udev_net_rules_in_initramfs=in_initramfs,
                   nozeroconf=nozeroconf)


def _interfaces_includes(files: GuestFiles, text: str, parser) -> list[NetInterface]:
    found: list[NetInterface] = []
    for include in interfaces_includes(text):
        pattern = include
        if not any(c in include for c in "*?[") and files.g.is_dir(include):
            pattern = posixpath.join(include, "*")  # source-directory
        for path, included in files.texts(pattern):
            found += parser(path, included)
    return found


_CLOUDINIT_VERSION = re.compile(r'^__VERSION__\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)
CLOUDINIT_BINARIES = ("/usr/bin/cloud-init", "/usr/local/bin/cloud-init")
CLOUDINIT_VERSION_FILES = ("/usr/lib/python3*/*-packages/cloudinit/version.py",
                           "/usr/lib/python2*/*-packages/cloudinit/version.py",
                           "/usr/local/lib/python3*/*-packages/cloudinit/version.py")


def read_cloud_init(files: GuestFiles) -> CloudInit:
    """Installed by its launcher; the version from the package's own version.py (no package database)."""
    texts = files.texts("/etc/cloud/cloud.cfg") + files.texts("/etc/cloud/cloud.cfg.d/*.cfg")
    config = parse_cloud_config(texts)
    version = None
    for pattern in CLOUDINIT_VERSION_FILES:
        for _path, text in files.texts(pattern):
            match = _CLOUDINIT_VERSION.search(text)
            version = version or (match.group(1) if match else None)
    config.installed = files.any_exists(CLOUDINIT_BINARIES)
    config.version = version if config.installed else None
    return config


SSHD = ("/usr/sbin/sshd", "/sbin/sshd")
SSH_ENABLED = ("/etc/systemd/system/*.target.wants/ssh.service", "/etc/systemd/system/*.target.wants/sshd.service",
               "/etc/rc[2-5].d/S*ssh*", "/etc/runlevels/default/sshd")


def read_ssh(files: GuestFiles) -> Service:
    if not files.any_exists(SSHD):
        return Service(installed=False)
    return Service(installed=True, enabled=files.any_exists(SSH_ENABLED))


#: Other platforms' guest tools, by the files they install (cheaper than any package database).
GUEST_TOOLS: dict[str, tuple[str, ...]] = {
    "vmware-tools": ("/etc/vmware-tools/locations", "/usr/lib/vmware-tools/sbin*"),
    "open-vm-tools": ("/usr/bin/vmtoolsd",),
    "virtualbox-additions": ("/usr/sbin/VBoxService", "/opt/VBoxGuestAdditions-*"),
    "hyperv-daemons": ("/usr/sbin/hv_kvp_daemon", "/usr/sbin/hypervkvpd", "/usr/libexec/hypervkvpd"),
    "xe-guest-utilities": ("/usr/sbin/xe-daemon", "/usr/sbin/xe-linux-distribution"),
    "uvp-tools": ("/etc/init.d/uvp-monitor", "/usr/bin/uvp-monitor"),
    "qemu-guest-agent": ("/usr/bin/qemu-ga", "/usr/sbin/qemu-ga"),
    "waagent": ("/usr/sbin/waagent",),
}


def read_guest_tools(files: GuestFiles) -> list[str]:
    return [name for name, markers in GUEST_TOOLS.items() if files.any_exists(markers)]


def read_selinux(files: GuestFiles):
    text = files.text("/etc/selinux/config")
    return "absent" if text is None else parse_selinux_config(text)


# -- boot summary --

def fill_boot(boot: Boot, loader: BootLoaderFacts, default: Kernel | None) -> None:
    boot.bootloader = loader.name
    boot.config_paths = loader.config_paths or []
    entry = loader.config.default_entry if loader.config else None
    boot.default_kernel = default.version if default else None
    if entry is None:
        return
    boot.cmdline = entry.cmdline
    args = kernel_args(entry.cmdline)
    if args.get("root"):
        boot.root_spec = classify(args["root"][-1])
    boot.console = [value for value in args.get("console", []) if value]
    boot.resume = (args.get("resume") or [None])[-1] or None


@dataclass
class LinuxResult:
    linux: LinuxFacts
    drivers: Drivers
    summary: LinuxSummary
    loader: BootLoaderFacts


def survey_patterns(family: type[Family]) -> list[str]:
    """Every fixed path or glob the readers below may look at, for :meth:`GuestFiles.survey`."""
    patterns = [config for loader in BOOTLOADERS for config in loader.configs]
    patterns += ["/boot/grub/grubenv", "/boot/grub2/grubenv", "/boot/loader/entries/*.conf",
                 "/etc/fstab", "/etc/selinux/config", "/etc/sysconfig/network", "/etc/udev/rules.d/*.rules",
                 "/etc/cloud/cloud.cfg", "/etc/cloud/cloud.cfg.d/*.cfg", "/etc/network/interfaces.d/*",
                 *CLOUDINIT_BINARIES, *CLOUDINIT_VERSION_FILES, *SSHD, *SSH_ENABLED]
    patterns += [path for tool in INITRAMFS_TOOLS for path in tool.binaries]
    patterns += [glob for _name, globs, _parser in family.network_sources() for glob in globs]
    patterns += [marker for markers in GUEST_TOOLS.values() for marker in markers]
    return list(dict.fromkeys(patterns))


def gather_linux(files: GuestFiles, family: type[Family], disks: Disks) -> LinuxResult:
    """Every Linux fact, from the mounted guest."""
    files.survey(survey_patterns(family))
    reads = read_kernels(files, family)
    loader = read_bootloader(files)
    kernels = [read.kernel for read in reads]
    default_version = derive.default_kernel(kernels, loader.config)
    for kernel in kernels:
        kernel.is_default = kernel.version == default_version
    default = next((read for read in reads if read.kernel.is_default), None)
    linux = LinuxFacts(
        initramfs_tool=initramfs_tool(files, family, default.members if default else []),
        kernels=kernels,
        fstab=read_fstab(files, disks),
        network=read_network(files, family, [read.members for read in reads]),
        cloud_init=read_cloud_init(files),
        ssh_server=read_ssh(files),
        guest_tools=read_guest_tools(files),
        selinux=read_selinux(files),
    )
    return LinuxResult(
        linux=linux,
        drivers=derive.driver_summary(default.kernel if default else None),
        summary=derive.linux_summary(linux),
        loader=loader,
    )
