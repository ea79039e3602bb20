import pytest

from imgtools.inspect.parse.devspec import classify, tag_value


@pytest.mark.parametrize("spec, kind", [
    ("UUID=3f1c2a7e-9b0d-4c59-8f7e-1a2b3c4d5e6f", "uuid"),
    ("uuid=3f1c2a7e-9b0d-4c59-8f7e-1a2b3c4d5e6f", "uuid"),
    ("LABEL=cloudimg-rootfs", "label"),
    ("PARTUUID=5f0e7d41-01", "partuuid"),
    ("PARTLABEL=root", "partlabel"),
    ("/dev/disk/by-uuid/3f1c2a7e-9b0d-4c59-8f7e-1a2b3c4d5e6f", "uuid"),
    ("/dev/disk/by-label/ROOT", "label"),
    ("/dev/disk/by-partuuid/5f0e7d41-01", "partuuid"),
    ("/dev/disk/by-id/scsi-SATA_VBOX_HARDDISK_VB1234-part1", "by_id"),
    ("/dev/disk/by-id/ata-VMware_Virtual_IDE_Hard_Drive_00000000000000000001-part2", "by_id"),
    ("/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:0:0-part1", "by_path"),
    ("/dev/sda1", "device"),
    ("/dev/sdb", "device"),
    ("/dev/vda2", "device"),
    ("/dev/xvda1", "device"),
    ("/dev/hda1", "device"),
    ("/dev/nvme0n1p2", "device"),
    ("/dev/nvme0n1", "device"),
    ("/dev/mmcblk0p1", "device"),
    ("/dev/md0", "device"),
    ("/dev/cciss/c0d0p1", "device"),
    ("/dev/mapper/rhel-root", "lvm"),
    ("/dev/mapper/VolGroup00-LogVol00", "lvm"),
    ("/dev/rhel/root", "lvm"),
    ("/dev/VolGroup00/LogVol01", "lvm"),
    ("tmpfs", "other"),
    ("proc", "other"),
    ("nfs.example.com:/export", "other"),
    ("/dev/disk/foo", "other"),
    ("/srv/data.img", "other"),
])
def test_classify(spec, kind):
    result = classify(spec)
    assert result.kind == kind
    assert result.raw == spec


def test_classify_strips_whitespace():
    assert classify("  UUID=abc \n").raw == "UUID=abc"


@pytest.mark.parametrize("spec, value", [
    ("UUID=3f1c", "3f1c"),
    ('LABEL="my root"', "my root"),
    ("/dev/disk/by-uuid/3f1c", "3f1c"),
    ("/dev/disk/by-label/ROOT", "ROOT"),
    ("/dev/sda1", None),
    ("/dev/mapper/rhel-root", None),
])
def test_tag_value(spec, value):
    assert tag_value(classify(spec)) == value
