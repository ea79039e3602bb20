"""A report with every status (pass, fail, skip, waived, error) and every severity, from real checks."""

from __future__ import annotations

from imgtools.checks import evaluate
from imgtools.facts import ModuleState
from imgtools.profiles import load_profile
from imgtools.report.model import Report
from tests.checks.sample_facts import debian


def mixed_report(fail_on: str = "error") -> Report:
    facts = debian()
    facts.facts.linux.kernels[0].modules["virtio_blk"] = ModuleState(on_disk=True)       # fail, error
    facts.facts.linux.network.udev_net_rules = ["/etc/udev/rules.d/70-persistent-net.rules"]  # waived
    facts.facts.linux.guest_tools = ["open-vm-tools"]                                    # fail, warning
    facts.boot.root_spec = None                                                           # fail, error
    facts.facts.linux.kernels[0].version = None  # type: ignore[assignment]             # IMG-DRV-004 crashes
    return evaluate(facts, load_profile("huaweicloud"), {"IMG-NET-002": "rules removed by our first-boot script"},
                    fail_on=fail_on)
