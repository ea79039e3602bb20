from imgtools.inspect.parse.fstab import parse_fstab, unescape

DEBIAN_12 = """\
# /etc/fstab: static file system information.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
# / was on /dev/sda1 during installation
UUID=0f7ae1b4-2c21-4c4b-9b3f-6d0b2a3c1e55 /               ext4    errors=remount-ro 0       1
# swap was on /dev/sda5 during installation
UUID=9a1d3c6e-55aa-4c1e-8a77-0e1f2d3c4b5a none            swap    sw              0       0
/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0
"""

RHEL_8_LVM = """
#
# /etc/fstab
# Created by anaconda on Tue Mar  1 10:00:00 2022
#
/dev/mapper/rhel-root   /                       xfs     defaults        0 0
UUID=7d5e2f1a-1b2c-4d3e-8f9a-0b1c2d3e4f5a /boot                   xfs     defaults        0 0
/dev/mapper/rhel-swap   swap                    swap    defaults        0 0
"""

VMWARE_EXPORT = "/dev/sda1\t/\text4\tdefaults\t1 1\n/dev/sdb1\t/data\txfs\tdefaults,nofail,x-systemd.device-timeout=10\t0 2\n"


def test_debian_12():
    entries = parse_fstab(DEBIAN_12)
    assert [e.mountpoint for e in entries] == ["/", "none", "/media/cdrom0"]
    root, swap, cdrom = entries
    assert root.spec.kind == "uuid" and root.fstype == "ext4" and root.options == ["errors=remount-ro"]
    assert swap.fstype == "swap" and swap.mountpoint == "none"
    assert cdrom.spec.kind == "device" and cdrom.nofail  # noauto: never waited for


def test_rhel_8_lvm_swap_keeps_swap_mountpoint():
    entries = parse_fstab(RHEL_8_LVM)
    assert [(e.spec.kind, e.mountpoint, e.fstype) for e in entries] == [
        ("lvm", "/", "xfs"), ("uuid", "/boot", "xfs"), ("lvm", "swap", "swap")]
    assert not any(e.nofail for e in entries)


def test_tabs_and_nofail_with_x_systemd_options():
    root, data = parse_fstab(VMWARE_EXPORT)
    assert root.spec.raw == "/dev/sda1" and not root.nofail
    assert data.nofail
    assert "x-systemd.device-timeout=10" in data.options


def test_escaped_spaces():
    (entry,) = parse_fstab(r"LABEL=My\040Disk /mnt/my\040data ext4 defaults 0 2")
    assert entry.spec.raw == "LABEL=My Disk"
    assert entry.mountpoint == "/mnt/my data"
    assert unescape(r"a\011b") == "a\tb"


def test_missing_fields_take_defaults():
    (entry,) = parse_fstab("/dev/vda1 /\n")
    assert entry.fstype == "auto" and entry.options == ["defaults"]
    (entry,) = parse_fstab("/dev/vda1 / ext4\n")
    assert entry.options == ["defaults"]


def test_garbage_lines_are_skipped():
    assert parse_fstab("\n   \n#only comments\n   # indented comment\nlonelyfield\n") == []


def test_pseudo_filesystems_are_listed_as_other():
    entries = parse_fstab("proc /proc proc defaults 0 0\ntmpfs /tmp tmpfs size=1G 0 0\n")
    assert [e.spec.kind for e in entries] == ["other", "other"]
