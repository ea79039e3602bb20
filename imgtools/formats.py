"""The registry of disk image formats.

One small class per format, named by qemu's driver name.  Everything that
differs between formats lives here (how qemu-img is told to write it, which
subformats exist, what oslo.utils' format inspector calls it, quirks), so the
rest of the code never branches on a format name.
"""

from __future__ import annotations

from typing import ClassVar

from .errors import UsageError


class ImageFormat:
    """A disk image format as qemu-img knows it."""

    #: qemu's block driver name, the value of ``-f`` / ``-O``.
    name: ClassVar[str]
    #: The qemu driver that reads it, when that is not ``name`` (an ISO is read as raw).
    driver: ClassVar[str | None] = None
    #: What a person calls it.
    title: ClassVar[str]
    #: The name oslo.utils' format_inspector uses, when it knows the format.
    inspector_name: ClassVar[str | None] = None
    #: Usual file name extension, without the dot.
    extension: ClassVar[str] = "img"
    #: ``imgtools convert`` can write it.
    writable: ClassVar[bool] = False
    #: Some public cloud imports it as is (raw and the formats below).
    importable: ClassVar[bool] = True
    #: Subformats qemu-img accepts as ``-o subformat=``; the first is the default.
    subformats: ClassVar[tuple[str, ...]] = ()
    #: qemu-img convert ``-c`` works for this output format.
    compressible: ClassVar[bool] = False
    #: The guest-visible size may be stored rounded (vpc geometry), so compare
    #: must tolerate a longer target whose tail reads as zeroes.
    rounds_virtual_size: ClassVar[bool] = False
    #: ``qemu-img measure`` supports this output format; for the others the
    #: space needed is estimated from a qcow2 measurement.
    measurable: ClassVar[bool] = False
    #: Subformats that allocate the whole virtual size when created.
    preallocated_subformats: ClassVar[tuple[str, ...]] = ()
    #: Subformats written front to back in one pass: they cannot be created
    #: empty and filled afterwards, so ``convert --align`` cannot pad them.
    streamed_subformats: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def create_options(cls, subformat: str | None = None, **extra: str) -> dict[str, str]:
        """The ``-o key=value`` options qemu-img needs to write this format."""
        options: dict[str, str] = {}
        if cls.subformats:
            chosen = subformat or cls.subformats[0]
            if chosen not in cls.subformats:
                raise UsageError(
                    f"{cls.name} has no subformat {chosen!r}; choose one of: {', '.join(cls.subformats)}"
                )
            options["subformat"] = chosen
        elif subformat:
            raise UsageError(f"{cls.name} has no subformats; drop '-o subformat={subformat}'")
        options.update(extra)
        return options


class Raw(ImageFormat):
    name = "raw"
    title = "raw disk image"
    inspector_name = "raw"
    extension = "raw"
    writable = True
    measurable = True


class Qcow2(ImageFormat):
    name = "qcow2"
    title = "QEMU copy-on-write v2/v3"
    inspector_name = "qcow2"
    extension = "qcow2"
    writable = True
    compressible = True
    measurable = True

    @classmethod
    def create_options(cls, subformat: str | None = None, **extra: str) -> dict[str, str]:
        # compat=1.1 (qcow2 v3) is what every current cloud and qemu reads.
        return super().create_options(subformat, **{"compat": "1.1", **extra})


class Qcow(ImageFormat):
    name = "qcow"
    title = "QEMU copy-on-write v1"
    extension = "qcow"


class Vmdk(ImageFormat):
    name = "vmdk"
    title = "VMware virtual disk"
    inspector_name = "vmdk"
    extension = "vmdk"
    writable = True
    # streamOptimized is the form clouds import; it is compressed by definition.
    subformats = ("streamOptimized", "monolithicSparse")
    streamed_subformats = ("streamOptimized",)


class Vpc(ImageFormat):
    name = "vpc"
    title = "Microsoft VHD"
    inspector_name = "vhd"
    extension = "vhd"
    writable = True
    subformats = ("dynamic", "fixed")
    preallocated_subformats = ("fixed",)
    rounds_virtual_size = True

    @classmethod
    def create_options(cls, subformat: str | None = None, **extra: str) -> dict[str, str]:
        # Without force_size qemu rounds the size to a CHS geometry, which Azure
        # and Huawei reject or report as a different size.
        return super().create_options(subformat, **{"force_size": "on", **extra})


class Vhdx(ImageFormat):
    name = "vhdx"
    title = "Microsoft VHDX"
    inspector_name = "vhdx"
    extension = "vhdx"
    writable = True
    subformats = ("dynamic", "fixed")
    preallocated_subformats = ("fixed",)


class Vdi(ImageFormat):
    name = "vdi"
    title = "VirtualBox disk image"
    inspector_name = "vdi"
    extension = "vdi"
    writable = True
    subformats = ("dynamic", "static")
    preallocated_subformats = ("static",)

    @classmethod
    def create_options(cls, subformat: str | None = None, **extra: str) -> dict[str, str]:
        # qemu's vdi driver has no subformat option: a static image is static=on.
        options = super().create_options(subformat, **extra)
        if options.pop("subformat") == "static":
            options["static"] = "on"
        return options


class Qed(ImageFormat):
    name = "qed"
    title = "QEMU enhanced disk (deprecated)"
    inspector_name = "qed"
    extension = "qed"


class Iso(ImageFormat):
    name = "iso"
    title = "ISO 9660 / UDF optical image"
    inspector_name = "iso"
    extension = "iso"
    driver = "raw"  # qemu has no iso driver


class Luks(ImageFormat):
    name = "luks"
    title = "LUKS encrypted container"
    inspector_name = "luks"
    extension = "luks"
    importable = False


class Parallels(ImageFormat):
    name = "parallels"
    title = "Parallels disk image"
    extension = "hdd"
    importable = False


class Bochs(ImageFormat):
    name = "bochs"
    title = "Bochs disk image"
    extension = "bochs"
    importable = False


class Cloop(ImageFormat):
    name = "cloop"
    title = "compressed loopback image"
    extension = "cloop"
    importable = False


class Dmg(ImageFormat):
    name = "dmg"
    title = "Apple disk image"
    extension = "dmg"
    importable = False


#: The explicit registry, keyed by qemu driver name.
FORMATS: dict[str, type[ImageFormat]] = {
    cls.name: cls
    for cls in (Raw, Qcow2, Qcow, Vmdk, Vpc, Vhdx, Vdi, Qed, Iso, Luks, Parallels, Bochs, Cloop, Dmg)
}

#: Names users type that mean one of ours.
ALIASES = {"vhd": "vpc", "img": "raw", "qcow2v3": "qcow2"}


def get_format(name: str) -> type[ImageFormat]:
    """Look a format up by qemu driver name or common alias; a clear error otherwise."""
    key = ALIASES.get(name.lower(), name.lower())
    try:
        return FORMATS[key]
    except KeyError:
        raise UsageError(
            f"unknown image format {name!r}; known formats: {', '.join(sorted(FORMATS))}"
        ) from None


def qemu_driver(name: str) -> str:
    """The value qemu-img's ``-f`` and libguestfs' ``format=`` take for a probed format."""
    cls = get_format(name)
    return cls.driver or cls.name


def from_inspector_name(inspector_name: str) -> type[ImageFormat] | None:
    """Map oslo.utils' format_inspector name ("vhd", "gpt", …) to our format."""
    if inspector_name == "gpt":  # a raw disk that happens to carry a GPT
        return Raw
    for cls in FORMATS.values():
        if cls.inspector_name == inspector_name:
            return cls
    return None


def writable_formats() -> list[str]:
    return [name for name, cls in FORMATS.items() if cls.writable]


def compressible_formats() -> list[str]:
    """Writable formats whose output ``qemu-img convert -c`` can compress."""
    return [name for name, cls in FORMATS.items() if cls.writable and cls.compressible]
