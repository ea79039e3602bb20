"""Decode Windows registry values read through hivex: (type, raw bytes) in, Python out.

hivex hands back a value as its registry type number and the stored bytes.  The
guest is untrusted and real hives hold surprises (a DWORD stored as REG_BINARY
``01 00 00 00``, a number written as a string, strings without their NUL or
with an odd byte count), so every decoder here tolerates malformed data and
returns ``None`` rather than raising.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import IntEnum
from typing import Callable, Union


class RegType(IntEnum):
    """Registry value types (winnt.h REG_*)."""

    NONE = 0
    SZ = 1
    EXPAND_SZ = 2
    BINARY = 3
    DWORD = 4
    DWORD_BIG_ENDIAN = 5
    LINK = 6
    MULTI_SZ = 7
    RESOURCE_LIST = 8
    FULL_RESOURCE_DESCRIPTOR = 9
    RESOURCE_REQUIREMENTS_LIST = 10
    QWORD = 11


Decoded = Union[str, int, list[str], bytes, None]


def decode_string(data: bytes) -> str:
    """UTF-16LE up to the first NUL; an odd trailing byte and bad surrogates are dropped."""
    text = data[: len(data) & ~1].decode("utf-16-le", errors="replace")
    return text.split("\x00", 1)[0]


def decode_multi_string(data: bytes) -> list[str]:
    """REG_MULTI_SZ: NUL-separated UTF-16LE strings ending with an empty one."""
    text = data[: len(data) & ~1].decode("utf-16-le", errors="replace")
    return [part for part in text.split("\x00") if part]


def _unsigned(data: bytes, size: int, order: str) -> int | None:
    if len(data) < size:
        return None
    return int.from_bytes(data[:size], order)


def decode_dword(data: bytes) -> int | None:
    return _unsigned(data, 4, "little")


def decode_dword_big_endian(data: bytes) -> int | None:
    return _unsigned(data, 4, "big")


def decode_qword(data: bytes) -> int | None:
    return _unsigned(data, 8, "little")


_DECODERS: dict[int, Callable[[bytes], Decoded]] = {
    RegType.SZ: decode_string,
    RegType.EXPAND_SZ: decode_string,
    RegType.LINK: decode_string,
    RegType.MULTI_SZ: decode_multi_string,
    RegType.DWORD: decode_dword,
    RegType.DWORD_BIG_ENDIAN: decode_dword_big_endian,
    RegType.QWORD: decode_qword,
}


def decode_value(reg_type: int, data: bytes) -> Decoded:
    """The natural Python value of a registry value; unknown types stay bytes."""
    decoder = _DECODERS.get(reg_type)
    return decoder(data) if decoder else bytes(data)


_INTEGER = re.compile(r"^\s*(0x[0-9a-fA-F]+|\d+)\s*$")


def as_int(reg_type: int, data: bytes) -> int | None:
    """A number however it was stored: DWORD/QWORD, little-endian REG_BINARY of 1–8 bytes, or a string of digits."""
    value = decode_value(reg_type, data)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        match = _INTEGER.match(value)
        return int(match.group(1), 0) if match else None
    if reg_type in (RegType.BINARY, RegType.NONE) and 1 <= len(data) <= 8:
        return int.from_bytes(data, "little")
    return None


def as_bool(reg_type: int, data: bytes) -> bool | None:
    """Registry flags: any non-zero number is true."""
    number = as_int(reg_type, data)
    return None if number is None else number != 0


def as_text(reg_type: int, data: bytes) -> str | None:
    """A string value (REG_SZ, REG_EXPAND_SZ, first of a REG_MULTI_SZ); None for other types."""
    value = decode_value(reg_type, data)
    if isinstance(value, list):
        return value[0] if value else None
    return value if isinstance(value, str) else None


# -- driver versions --

@dataclass(frozen=True)
class DriverVersion:
    """What an INF ``DriverVer`` says: a package date and a w.x.y.z version."""

    version: str | None
    date: str | None = None  # ISO yyyy-mm-dd

    @property
    def numbers(self) -> tuple[int, ...]:
        """The version as a tuple for comparisons (empty when unknown)."""
        return tuple(int(part) for part in self.version.split(".")) if self.version else ()


_VERSION = re.compile(r"^\d{1,5}(?:\.\d{1,5}){1,3}$")
_DATE = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")


def _iso_date(text: str) -> str | None:
    match = _DATE.match(text.strip())
    if not match:
        return None
    month, day, year = (int(group) for group in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


def parse_driver_version(text: str) -> DriverVersion | None:
    """``DriverVer`` forms: ``"mm/dd/yyyy,w.x.y.z"``, ``"w.x.y.z"`` or ``"mm-dd-yyyy"`` alone."""
    parts = [part.strip() for part in text.split(",")]
    date = version = None
    for part in parts:
        if _VERSION.match(part):
            version = part
        elif _iso_date(part):
            date = _iso_date(part)
    if version is None and date is None:
        return None
    return DriverVersion(version=version, date=date)


_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)


def filetime_date(filetime: int) -> str | None:
    """A Windows FILETIME (100 ns ticks since 1601) as an ISO date; None when absurd."""
    try:
        moment = _FILETIME_EPOCH + timedelta(microseconds=filetime // 10)
    except OverflowError:
        return None
    return moment.date().isoformat() if 1980 <= moment.year <= 2200 else None


def version_from_qword(value: int) -> str:
    """A DWORDLONG driver version: four 16-bit fields, most significant first."""
    return ".".join(str((value >> shift) & 0xFFFF) for shift in (48, 32, 16, 0))


#: ``DriverDatabase\\DriverPackages\\<pkg>\\Version`` (REG_BINARY): 8 bytes of flags,
#: the device class GUID (16), the driver date as FILETIME (8), the version (8).
_PACKAGE_VERSION = struct.Struct("<8s16sQQ")


def decode_package_version(data: bytes) -> DriverVersion | None:
    """The date and version a driver package's binary ``Version`` value records."""
    if len(data) < _PACKAGE_VERSION.size:
        return None
    _, _, filetime, version = _PACKAGE_VERSION.unpack_from(data)
    if version == 0:
        return None
    return DriverVersion(version=version_from_qword(version), date=filetime_date(filetime))


def driver_version(reg_type: int, data: bytes) -> DriverVersion | None:
    """A driver version from a string (``DriverVersion``, ``DriverVer``) or a package's binary ``Version``."""
    text = as_text(reg_type, data)
    if text is not None:
        return parse_driver_version(text)
    if reg_type == RegType.BINARY:
        return decode_package_version(data)
    return None


# -- paths --

_SYSTEMROOT_PREFIXES = ("\\systemroot\\", "%systemroot%\\", "systemroot\\")
_DRIVE_PREFIX = re.compile(r"^(?:\\\?\?\\)?[a-zA-Z]:\\")


def image_path_to_guest(image_path: str | None, systemroot: str, service: str) -> str | None:
    """Where a service's ImagePath points, as a path in the mounted guest.

    ``systemroot`` is the guest path of %SystemRoot% ("/Windows").  ImagePath
    forms: ``System32\\drivers\\x.sys`` (relative to %SystemRoot%),
    ``\\SystemRoot\\…``, ``%SystemRoot%\\…``, ``\\??\\C:\\…`` or ``C:\\…`` (the
    system drive assumed to be the one mounted at /).  Without an ImagePath a
    kernel driver lives at ``System32\\drivers\\<service>.sys``.  Returns None
    for a path on another drive letter we cannot place.
    """
    root = systemroot.rstrip("/")
    if not image_path:
        return f"{root}/System32/drivers/{service}.sys"
    path = image_path.strip().strip('"')
    lowered = path.lower()
    for prefix in _SYSTEMROOT_PREFIXES:
        if lowered.startswith(prefix):
            return f"{root}/" + path[len(prefix):].replace("\\", "/")
    drive = _DRIVE_PREFIX.match(path)
    if drive:
        if not drive.group(0).lower().rstrip("\\").endswith("c:"):
            return None
        return "/" + path[drive.end():].replace("\\", "/")
    if path.startswith("\\"):
        return None
    return f"{root}/" + path.replace("\\", "/")
