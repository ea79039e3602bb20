"""Driver checks: can the guest's kernel reach its disk and NIC on the target hypervisor?

A storage driver must be *ready* at boot: built into the kernel or inside that
kernel's initramfs.  A NIC driver only has to be installed (loaded after / is
mounted) unless the profile asks for it in the initramfs too.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from ..facts import Facts
from .boot import default_kernels
from .registry import Check, Outcome, Param, failed, list_param, passed, skipped
from .remedies import WHERE, initramfs_fix

IMS_LINUX_DOC = "https://support.huaweicloud.com/intl/en-us/usermanual-ims/ims_01_0209.html"


def _module_problems(kernel, initramfs: list[str], installed: list[str]) -> list[str]:
    """What is wrong with one kernel's drivers, each naming the evidence."""
    problems = []
    image = kernel.initramfs or "its initramfs"
    for name in initramfs:
        state = kernel.modules.get(name)
        if state is None or not (state.builtin or state.on_disk):
            problems.append(f"{name} is not installed")
        elif not state.builtin and not state.in_initramfs:
            where = f"not in {image}" if kernel.initramfs_readable else f"{image} could not be read"
            problems.append(f"{name} on disk but {where}")
    for name in installed:
        state = kernel.modules.get(name)
        if state is None or not (state.builtin or state.on_disk):
            problems.append(f"{name} is not installed")
    return problems


def _modules_ready(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    kernels = default_kernels(facts)
    if not kernels:
        return skipped("no kernel facts to check drivers against")
    needed = [*params["initramfs"], *params["installed"]]
    reports = []
    for kernel in kernels:
        problems = _module_problems(kernel, params["initramfs"], params["installed"])
        if problems:
            reports.append(f"kernel {kernel.version}: " + "; ".join(problems))
    if reports:
        return failed(" | ".join(reports))
    return passed(f"kernel {', '.join(k.version for k in kernels)}: {' '.join(needed)} ready")


def module_check(*, id: str, slug: str, title: str, severity: str, rationale: str, docs: str,
                 conf: str, initramfs: list[str], installed: list[str]) -> Check:
    """A check that a set of kernel modules is ready, with the per-family initramfs fix."""
    return Check(
        id=id,
        slug=slug,
        title=title,
        default_severity=severity,
        applies_to="linux",
        rationale=rationale,
        remediation=initramfs_fix(initramfs + installed, conf),
        docs=docs,
        evaluate=_modules_ready,
        params={
            "initramfs": list_param(initramfs, "modules that must be built in or inside the initramfs"),
            "installed": list_param(installed, "modules that must be built in or installed under /lib/modules"),
        },
    )


_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")


def _version(text: str) -> tuple[int, ...] | None:
    match = _VERSION.match(text)
    return tuple(int(part or 0) for part in match.groups()) if match else None


def _kernel_version(facts: Facts, params: Mapping[str, Any]) -> Outcome:
    kernels = default_kernels(facts)
    if not kernels:
        return skipped("no kernel facts")
    minimum = _version(params["min_version"])
    old = [k.version for k in kernels if (_version(k.version) or (0,)) < minimum]
    if old:
        return failed(f"kernel {', '.join(old)} is older than {params['min_version']} (no virtio support)")
    return passed(f"kernel {', '.join(k.version for k in kernels)} is at least {params['min_version']}")


CHECKS = (
    module_check(
        id="IMG-DRV-001",
        slug="virtio-drivers",
        title="virtio storage and network drivers are ready at boot",
        severity="error",
        rationale="KVM clouds (Huawei ECS, OpenStack, GCE) give the guest virtio disks and NICs; a kernel "
        "whose initramfs lacks virtio_blk/virtio_scsi cannot mount / and drops to an emergency shell.",
        docs=IMS_LINUX_DOC,
        conf="virtio",
        initramfs=["virtio_blk", "virtio_scsi", "virtio_pci"],
        installed=["virtio_net"],
    ),
    module_check(
        id="IMG-DRV-002",
        slug="xen-drivers",
        title="Xen PV storage and network drivers are ready at boot",
        severity="warning",
        rationale="Xen-based flavors (older Huawei ECS types) present PV disks and NICs; without "
        "xen-blkfront in the initramfs the guest cannot find its root disk there.",
        docs=IMS_LINUX_DOC,
        conf="xen",
        initramfs=["xen_blkfront"],
        installed=["xen_netfront"],
    ),
    module_check(
        id="IMG-DRV-003",
        slug="hyperv-drivers",
        title="Hyper-V storage and network drivers are ready at boot",
        severity="error",
        rationale="Azure runs on Hyper-V: the disk is reached through hv_vmbus and hv_storvsc, the NIC "
        "through hv_netvsc; without them in the initramfs the VM does not boot.",
        docs="https://learn.microsoft.com/en-us/azure/virtual-machines/linux/create-upload-generic",
        conf="hyperv",
        initramfs=["hv_vmbus", "hv_storvsc", "hv_netvsc"],
        installed=[],
    ),
    Check(
        id="IMG-DRV-004",
        slug="kernel-version",
        title="The kernel is newer than 2.6.24",
        default_severity="error",
        applies_to="linux",
        rationale="virtio drivers appeared in Linux 2.6.24; an older kernel cannot boot on KVM clouds.",
        remediation={
            "any": f"{WHERE}\nUpgrade to a supported kernel of the distribution (apt-get install linux-image-amd64, "
            "dnf/yum install kernel, zypper install kernel-default), or move the workload to a supported OS release.",
        },
        docs=IMS_LINUX_DOC,
        evaluate=_kernel_version,
        params={"min_version": Param("2.6.25", {"type": "string", "pattern": r"^\d+\.\d+(\.\d+)?$"}, "oldest kernel accepted")},
    ),
)
