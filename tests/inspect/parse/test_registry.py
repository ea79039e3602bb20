"""Registry value decoding, from bytes as hivex returns them (no appliance)."""

from __future__ import annotations

import struct

import pytest

from imgtools.inspect.parse.registry import (
    DriverVersion,
    RegType,
    as_bool,
    as_int,
    as_text,
    decode_multi_string,
    decode_package_version,
    decode_string,
    decode_value,
    driver_version,
    filetime_date,
    image_path_to_guest,
    parse_driver_version,
    version_from_qword,
)


def utf16(text: str) -> bytes:
    return text.encode("utf-16-le")


class TestStrings:
    def test_sz_stops_at_nul(self):
        assert decode_string(utf16("Windows Server 2019 Datacenter\x00junk")) == "Windows Server 2019 Datacenter"

    def test_sz_without_terminator(self):
        assert decode_string(utf16("10.0")) == "10.0"

    def test_odd_length_drops_last_byte(self):
        assert decode_string(utf16("abc") + b"\x00\x00" + b"\x41") == "abc"

    def test_expand_sz_keeps_variables(self):
        data = utf16("%SystemRoot%\\System32\\drivers\\netkvm.sys\x00")
        assert decode_value(RegType.EXPAND_SZ, data) == "%SystemRoot%\\System32\\drivers\\netkvm.sys"

    def test_multi_sz(self):
        assert decode_multi_string(utf16("NDIS\x00Tcpip\x00\x00")) == ["NDIS", "Tcpip"]
        assert decode_value(RegType.MULTI_SZ, utf16("\x00")) == []

    def test_non_ascii(self):
        assert decode_string(utf16("Prüfung\x00")) == "Prüfung"

    def test_as_text_takes_first_multi_sz(self):
        assert as_text(RegType.MULTI_SZ, utf16("a\x00b\x00\x00")) == "a"
        assert as_text(RegType.DWORD, b"\x01\x00\x00\x00") is None


class TestNumbers:
    def test_dword(self):
        assert decode_value(RegType.DWORD, struct.pack("<I", 0xA)) == 10

    def test_dword_big_endian(self):
        assert decode_value(RegType.DWORD_BIG_ENDIAN, b"\x00\x00\x01\x00") == 256

    def test_qword(self):
        assert decode_value(RegType.QWORD, struct.pack("<Q", 1 << 40)) == 1 << 40

    def test_short_dword_is_none(self):
        assert decode_value(RegType.DWORD, b"\x01\x00") is None
        assert as_int(RegType.DWORD, b"") is None

    def test_binary_stays_bytes(self):
        assert decode_value(RegType.BINARY, b"\x01\xff\x00\x00") == b"\x01\xff\x00\x00"

    @pytest.mark.parametrize(
        "reg_type, data, expected",
        [
            (RegType.DWORD, b"\x00\x00\x00\x00", 0),
            (RegType.BINARY, b"\x01\xff\x00\x00", 0xFF01),
            (RegType.BINARY, b"\x01", 1),
            (RegType.SZ, utf16("1\x00"), 1),
            (RegType.SZ, utf16("0x10\x00"), 16),
            (RegType.SZ, utf16("yes\x00"), None),
            (RegType.BINARY, bytes(9), None),
            (RegType.MULTI_SZ, utf16("1\x00\x00"), None),
        ],
    )
    def test_as_int(self, reg_type, data, expected):
        assert as_int(reg_type, data) == expected

    def test_as_bool(self):
        assert as_bool(RegType.DWORD, b"\x01\x00\x00\x00") is True
        assert as_bool(RegType.DWORD, b"\x00\x00\x00\x00") is False
        assert as_bool(RegType.SZ, utf16("on")) is None


class TestDriverVersions:
    def test_driverver_with_date(self):
        assert parse_driver_version("08/04/2021,100.85.104.20800") == DriverVersion("100.85.104.20800", "2021-08-04")

    def test_version_only(self):
        parsed = parse_driver_version("62.74.104.14100")
        assert parsed == DriverVersion("62.74.104.14100", None)
        assert parsed.numbers == (62, 74, 104, 14100)

    def test_dash_date_only(self):
        assert parse_driver_version("10-9-2019") == DriverVersion(None, "2019-10-09")

    def test_garbage(self):
        assert parse_driver_version("unknown") is None
        assert parse_driver_version("13/45/2019") is None
        assert DriverVersion(None).numbers == ()

    def test_version_from_qword(self):
        assert version_from_qword((100 << 48) | (85 << 32) | (104 << 16) | 20800) == "100.85.104.20800"

    def test_filetime(self):
        assert filetime_date(133485408000000000) == "2024-01-01"
        assert filetime_date(0) is None  # 1601: not a real driver date
        assert filetime_date(1 << 63) is None

    def test_package_version_binary(self):
        scsi_class = bytes.fromhex("7be9364d25e3ce11bfc108002be10318")
        version = (100 << 48) | (77 << 32) | (104 << 16) | 17100
        data = b"\xff\xff\x09\x00\x00\x00\x00\x00" + scsi_class + struct.pack("<QQ", 133485408000000000, version)
        assert decode_package_version(data) == DriverVersion("100.77.104.17100", "2024-01-01")
        assert driver_version(RegType.BINARY, data) == DriverVersion("100.77.104.17100", "2024-01-01")

    def test_package_version_too_short_or_empty(self):
        assert decode_package_version(b"\x01\xff\x00\x00") is None
        assert decode_package_version(bytes(40)) is None

    def test_driver_version_from_string(self):
        assert driver_version(RegType.SZ, utf16("100.85.104.20800\x00")) == DriverVersion("100.85.104.20800")
        assert driver_version(RegType.DWORD, b"\x01\x00\x00\x00") is None


class TestImagePath:
    @pytest.mark.parametrize(
        "image_path, expected",
        [
            (None, "/Windows/System32/drivers/viostor.sys"),
            ("", "/Windows/System32/drivers/viostor.sys"),
            ("System32\\drivers\\viostor.sys", "/Windows/System32/drivers/viostor.sys"),
            ("system32\\DRIVERS\\viostor.sys", "/Windows/system32/DRIVERS/viostor.sys"),
            ("\\SystemRoot\\System32\\drivers\\viostor.sys", "/Windows/System32/drivers/viostor.sys"),
            ("%SystemRoot%\\System32\\drivers\\viostor.sys", "/Windows/System32/drivers/viostor.sys"),
            ("\\??\\C:\\Windows\\System32\\drivers\\viostor.sys", "/Windows/System32/drivers/viostor.sys"),
            ('"C:\\Program Files\\x\\viostor.sys"', "/Program Files/x/viostor.sys"),
            ("D:\\drivers\\viostor.sys", None),
            ("\\Device\\Harddisk0\\viostor.sys", None),
        ],
    )
    def test_forms(self, image_path, expected):
        assert image_path_to_guest(image_path, "/Windows", "viostor") == expected

    def test_systemroot_trailing_slash(self):
        assert image_path_to_guest(None, "/WINNT/", "xenvbd") == "/WINNT/System32/drivers/xenvbd.sys"
