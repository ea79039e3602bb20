"""The strongest evidence: a prepared image boots, on a virtio disk and a virtio NIC.

The real Debian 12 guest (debootstrap, real kernel and initramfs) is prepared
for huaweicloud as qcow2 and for openstack as raw, and each output is booted
under TCG until its serial console shows the login prompt.
"""

from __future__ import annotations

import pytest

from fixtures.boot import boot_to_login
from fixtures.debian import build_debian
from imgtools.prepare import prepare

pytestmark = [pytest.mark.slow, pytest.mark.appliance]


@pytest.fixture(scope="module")
def debian_image():
    return build_debian("virtio")


@pytest.mark.parametrize("profile, fmt", [("huaweicloud", "qcow2"), ("openstack", "raw")])
def test_prepared_debian_boots_to_login_on_virtio(debian_image, tmp_path, profile, fmt):
    manifest = prepare(debian_image, tmp_path, profile=profile, out_format=fmt, force=True)
    assert manifest.output is not None and manifest.output.format == fmt
    drivers = {f.id: f.status for f in manifest.report.findings}
    assert drivers.get("IMG-DRV-001") == "pass", manifest.report.findings
    result = boot_to_login(manifest.output.path, fmt, timeout=900)
    assert result.reached_login, f"no login prompt ({result.dead_end or 'timeout'}):\n{result.console[-3000:]}"
