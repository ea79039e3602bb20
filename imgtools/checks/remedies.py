"""Guest families and the fixes that differ between them.

A remediation is only useful when its commands exist on the guest: Debian
rebuilds its initramfs with initramfs-tools, RHEL with dracut, old SUSE with
mkinitrd.  :func:`family` decides which family a guest belongs to, and the
builders here write the same fix once for every family.
"""

from __future__ import annotations

from ..facts import Facts

DEBIAN_LIKE = {"debian", "ubuntu", "linuxmint", "kalilinux", "devuan", "raspbian", "deepin", "uos", "kylin"}
RHEL_LIKE = {
    "rhel", "redhat-based", "centos", "centos-stream", "fedora", "rocky", "almalinux", "oraclelinux",
    "scientificlinux", "euleros", "openeuler", "amazonlinux", "anolis", "opencloudos", "circle", "eurolinux",
}
SUSE_LIKE = {"sles", "suse-based", "opensuse", "sled", "sle-micro"}

#: Said once before every command list: where the commands run.
WHERE = (
    "Run inside the guest before exporting it, or offline on the image with "
    "virt-customize -a IMAGE --run-command '<command>'."
)


def family(facts: Facts) -> str:
    """debian, rhel, suse, windows, or any when the guest is unknown."""
    guest = facts.guest
    if guest is None:
        return "any"
    if guest.type == "windows":
        return "windows"
    linux = facts.facts.linux
    tool = linux.initramfs_tool if linux else "unknown"
    if tool == "initramfs-tools":
        return "debian"
    if tool == "mkinitrd" or guest.distro in SUSE_LIKE:
        return "suse"
    if tool == "dracut" or guest.distro in RHEL_LIKE:
        return "rhel"
    if guest.distro in DEBIAN_LIKE:
        return "debian"
    return "any"


def initramfs_fix(modules: list[str], conf: str) -> dict[str, str]:
    """Per-family commands that put ``modules`` into every kernel's initramfs.

    ``conf`` names the dracut drop-in (``virtio`` -> ``/etc/dracut.conf.d/virtio.conf``).
    """
    names = " ".join(modules)
    debian = (
        f"printf '%s\\n' {names} >> /etc/initramfs-tools/modules\n"
        "update-initramfs -u -k all"
    )
    dracut = (
        f"echo 'add_drivers+=\" {names} \"' > /etc/dracut.conf.d/{conf}.conf\n"
        "dracut -f --regenerate-all"
    )
    suse = (
        f"SLES 12 SP1 and later, openSUSE (dracut):\n{dracut}\n"
        f"Older SLES (mkinitrd): add {names} to INITRD_MODULES=\"…\" in /etc/sysconfig/kernel, then run: mkinitrd"
    )
    return {
        "debian": f"{WHERE}\nDebian/Ubuntu (initramfs-tools):\n{debian}",
        "rhel": f"{WHERE}\nRHEL/CentOS/EulerOS (dracut):\n{dracut}",
        "suse": f"{WHERE}\nSUSE:\n{suse}",
        "any": (
            f"{WHERE}\nDebian/Ubuntu (initramfs-tools):\n{debian}\n"
            f"RHEL/CentOS/EulerOS (dracut):\n{dracut}\nSUSE:\n{suse}"
        ),
    }


def rebuild_initramfs_after(step: str) -> dict[str, str]:
    """Per-family commands: do ``step``, then rebuild the initramfs so it holds no stale copy."""
    commands = {
        "debian": "update-initramfs -u -k all",
        "rhel": "dracut -f --regenerate-all",
        "suse": "dracut -f --regenerate-all   # older SLES: mkinitrd",
    }
    fixes = {name: f"{WHERE}\n{step}\n{cmd}" for name, cmd in commands.items()}
    fixes["any"] = f"{WHERE}\n{step}\n" + "\n".join(
        f"{cmd}   # {label}" for label, cmd in (
            ("Debian/Ubuntu", commands["debian"]), ("RHEL/CentOS/EulerOS/SUSE", commands["rhel"]),
        )
    )
    return fixes
