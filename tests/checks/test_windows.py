"""imgtools.checks.windows: a passing and a failing facts document for every Windows check."""

from __future__ import annotations

import pytest

from imgtools.facts import WindowsDriver

from .cases import case, setting, verify
from .sample_facts import debian, windows


def driver(name: str, **state):
    def apply(facts):
        facts.facts.windows.drivers[name] = WindowsDriver(name=name, **state)

    return apply


def remove(*names: str):
    def apply(facts):
        for name in names:
            facts.facts.windows.drivers.pop(name, None)

    return apply


CASES = [
    case("IMG-WIN-001", "pass", windows, message="viostor boot-start"),
    case("IMG-WIN-001", "fail", windows, driver("viostor", service=True, start=3, file_exists=True),
         message="viostor: start type 3, not boot-start (0); vioscsi: not installed", remediation="/v Start"),
    case("IMG-WIN-001", "fail", windows, driver("viostor", service=True, start=0, file_exists=False,
                                                image_path=r"System32\drivers\viostor.sys"),
         label="file-missing", message=r"System32\drivers\viostor.sys is missing"),
    case("IMG-WIN-001", "skip", debian, label="linux"),
    case("IMG-WIN-002", "pass", windows, message="netkvm installed"),
    case("IMG-WIN-002", "fail", windows, remove("netkvm"), message="netkvm: not installed", remediation="netkvm.inf"),
    case("IMG-WIN-002", "fail", windows, driver("netkvm", service=True, start=4, file_exists=True), label="disabled",
         message="netkvm: installed but disabled"),
    case("IMG-WIN-003", "pass", windows, message="xenbus, xenvbd, xennet installed"),
    case("IMG-WIN-003", "fail", windows, remove("xennet"), message="xennet: not installed", remediation="UVP VMTools"),
    case("IMG-WIN-004", "pass", windows, message="Fast Startup off"),
    case("IMG-WIN-004", "fail", windows, setting("facts.windows.fast_startup", True), message="HiberbootEnabled=1",
         remediation="powercfg /h off"),
    case("IMG-WIN-004", "fail", windows, setting("facts.windows.hibernation", True), label="hibernated",
         message="hiberfil.sys"),
    case("IMG-WIN-004", "skip", windows,
         lambda f: (setting("facts.windows.fast_startup", None)(f), setting("facts.windows.hibernation", None)(f)),
         label="unknown"),
    case("IMG-WIN-005", "pass", windows, message="no BitLocker"),
    case("IMG-WIN-005", "fail", windows, setting("facts.windows.bitlocker", True), remediation="manage-bde -off"),
    case("IMG-WIN-005", "skip", windows, setting("facts.windows.bitlocker", None), label="unknown"),
    case("IMG-WIN-006", "pass", windows, message="DHCP"),
    case("IMG-WIN-006", "fail", windows, setting("facts.windows.dhcp", False), message="static IPv4",
         remediation="source=dhcp"),
]


@pytest.mark.parametrize("c", CASES)
def test_windows_check(c):
    verify(c)
