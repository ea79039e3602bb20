"""os-release, selinux config and the shell-assignment reader they share."""

import pytest

from imgtools.inspect.parse.osrelease import parse_os_release
from imgtools.inspect.parse.selinux import parse_selinux_config
from imgtools.inspect.parse.shellvars import shell_vars

DEBIAN_12 = """\
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
"""

SLES_15 = """\
NAME="SLES"
VERSION="15-SP4"
VERSION_ID="15.4"
PRETTY_NAME="SUSE Linux Enterprise Server 15 SP4"
ID="sles"
ID_LIKE="suse"
CPE_NAME="cpe:/o:suse:sles:15:sp4"
"""


def test_os_release_debian_12():
    values = parse_os_release(DEBIAN_12)
    assert values["ID"] == "debian" and values["VERSION_ID"] == "12"
    assert values["PRETTY_NAME"] == "Debian GNU/Linux 12 (bookworm)"


def test_os_release_sles_15():
    values = parse_os_release(SLES_15)
    assert (values["ID"], values["VERSION_ID"], values["ID_LIKE"]) == ("sles", "15.4", "suse")


@pytest.mark.parametrize("text, mode", [
    ("# This file controls the state of SELinux\nSELINUX=enforcing\nSELINUXTYPE=targeted\n", "enforcing"),
    ("SELINUX=permissive\n", "permissive"),
    ("SELINUX=disabled\nSELINUXTYPE=targeted\n", "disabled"),
    ('SELINUX="Disabled"\n', "disabled"),
    ("SELINUXTYPE=targeted\n", "enforcing"),
    ("SELINUX=bogus\n", "enforcing"),
])
def test_selinux(text, mode):
    assert parse_selinux_config(text) == mode


@pytest.mark.parametrize("text, expected", [
    ("A=1\nB='two words'\nC=\"three $A\"\n", {"A": "1", "B": "two words", "C": "three 1"}),
    ("export PATH=/bin\n", {"PATH": "/bin"}),
    ("X='$NOT_EXPANDED'\n", {"X": "$NOT_EXPANDED"}),
    ("A=1 # comment\n", {"A": "1"}),
    ('BROKEN="unbalanced\n', {"BROKEN": "unbalanced"}),
    ("if [ x ]; then\n  A=2\nfi\n", {"A": "2"}),
    ("not an assignment\n= nothing\n", {}),
])
def test_shell_vars(text, expected):
    assert shell_vars(text) == expected
