from imgtools.inspect.parse.kconfig import parse_kernel_config, parse_modules_builtin

CONFIG = """\
#
# Automatically generated file; DO NOT EDIT.
# Linux/x86 6.1.0-13-amd64 Kernel Configuration
#
CONFIG_CC_VERSION_TEXT="gcc-12 (Debian 12.2.0-14) 12.2.0"
CONFIG_VIRTIO=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_BLK=m
CONFIG_SCSI_VIRTIO=m
# CONFIG_XEN_BLKDEV_FRONTEND is not set
CONFIG_HYPERV=m
CONFIG_LOCALVERSION=""
CONFIG_NR_CPUS=8192
"""


def test_parse_kernel_config():
    config = parse_kernel_config(CONFIG)
    assert config["CONFIG_VIRTIO"] == "y"
    assert config["CONFIG_VIRTIO_BLK"] == "m"
    assert config["CONFIG_XEN_BLKDEV_FRONTEND"] == "n"
    assert config["CONFIG_CC_VERSION_TEXT"] == "gcc-12 (Debian 12.2.0-14) 12.2.0"
    assert config["CONFIG_LOCALVERSION"] == ""
    assert config["CONFIG_NR_CPUS"] == "8192"
    assert "CONFIG_VIRTIO_NET" not in config


def test_parse_kernel_config_ignores_garbage():
    assert parse_kernel_config("garbage\nCONFIG_=\n# random comment\n\x00\xff") == {}


def test_parse_modules_builtin():
    text = """\
kernel/drivers/block/virtio_blk.ko
kernel/drivers/virtio/virtio.ko
kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/xen/xen-platform-pci.ko

not a module
"""
    assert parse_modules_builtin(text) == {"virtio_blk", "virtio", "virtio_ring", "xen_platform_pci"}
