"""oslo's format_inspector is imported without its package's __init__, and the package still works for others.

The import cases run in a fresh interpreter: what is imported first is the point.
"""

from __future__ import annotations

from tests.support import fresh_python


def test_the_probe_starts_without_strutils():
    """strutils compiles ~480 regexes at import: 40-85 ms of every probe's and conversion's start-up."""
    assert fresh_python("import sys, imgtools.convert; print('oslo_utils.strutils' in sys.modules)") == "False"


def test_the_package_is_complete_for_code_that_uses_it_afterwards():
    out = fresh_python("""
        import imgtools.probe
        import oslo_utils.imageutils as package
        from oslo_utils.imageutils import QemuImgInfo
        import oslo_utils.imageutils.qemu
        try:
            package.no_such_name
        except AttributeError as exc:
            missing = str(exc)
        print(package.__all__, QemuImgInfo is oslo_utils.imageutils.qemu.QemuImgInfo, missing, sep="|")
    """)
    assert out == "['QemuImgInfo']|True|module 'oslo_utils.imageutils' has no attribute 'no_such_name'"


def test_a_package_imported_before_imgtools_is_left_alone():
    out = fresh_python("""
        import oslo_utils.imageutils as before
        import imgtools.probe
        import oslo_utils.imageutils as after
        print(after is before, '__getattr__' in vars(after), after.format_inspector.VHDInspector.NAME)
    """)
    assert out == "True False vhd"


def test_the_probe_uses_oslos_inspector():
    from oslo_utils.imageutils import format_inspector

    from imgtools import oslo, probe

    assert probe.oslo is oslo.format_inspector is format_inspector
