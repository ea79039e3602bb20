import pytest

from imgtools.inspect.parse.modules import CATALOGUE, is_module_file, module_name


@pytest.mark.parametrize("path, name", [
    ("kernel/drivers/block/virtio_blk.ko", "virtio_blk"),
    ("/lib/modules/5.14.0-70.el9.x86_64/kernel/drivers/block/virtio_blk.ko.xz", "virtio_blk"),
    ("/usr/lib/modules/6.5.0/kernel/drivers/net/virtio_net.ko.zst", "virtio_net"),
    ("kernel/drivers/block/xen-blkfront.ko.gz", "xen_blkfront"),
    ("updates/xen-vbd.ko", "xen_vbd"),
    ("virtio_scsi", "virtio_scsi"),
])
def test_module_name(path, name):
    assert module_name(path) == name


def test_is_module_file():
    assert is_module_file("a/b/hv_vmbus.ko.xz")
    assert not is_module_file("a/b/modules.dep")
    assert not is_module_file("a/b/x.kofoo")


def test_catalogue_covers_the_contract_drivers():
    contract = {"virtio", "virtio_ring", "virtio_pci", "virtio_blk", "virtio_scsi", "virtio_net",
                "xen_blkfront", "xen_netfront", "xen_platform_pci", "xen_vbd", "xen_vnif",
                "hv_vmbus", "hv_storvsc", "hv_netvsc"}
    assert contract <= set(CATALOGUE)
    assert all("-" not in name for name in CATALOGUE)
    assert all(symbols and all(s.startswith("CONFIG_") for s in symbols) for symbols in CATALOGUE.values())
    assert CATALOGUE["xen_platform_pci"] == ("CONFIG_XEN_PVHVM", "CONFIG_XEN_PLATFORM_PCI")
