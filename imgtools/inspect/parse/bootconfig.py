"""Boot loader configurations: which kernel boots by default, with which command line.

Every loader yields the same :class:`BootConfig`: the entries in menu order
(grub2 submenus flattened, each entry remembering its menu ``path``) and the
index of the one the loader boots without a keypress.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections.abc import Callable
from pathlib import PurePosixPath

from pydantic import Field

from imgtools.facts import Model
from imgtools.inspect.parse.shellvars import shell_vars


class BootEntry(Model):
    title: str
    kernel: str | None = None
    #: The last initrd listed: the one with the modules (microcode images come first).
    initrd: str | None = None
    cmdline: str = ""
    #: grub2 ``--id``/``$menuentry_id_option`` id, BLS file stem, extlinux label.
    id: str | None = None
    #: grub2 menu path of titles, e.g. ``["Advanced options for Debian", "Debian, with Linux 6.1"]``.
    path: list[str] = Field(default_factory=list)
    #: grub2 menu ids along ``path`` (None where a level has no id).
    id_path: list[str | None] = Field(default_factory=list)
    #: grub2 numeric position, e.g. ``"1>2"``.
    position: str = ""
    #: BLS ``version`` key, when given.
    version: str | None = None


class BootConfig(Model):
    entries: list[BootEntry] = Field(default_factory=list)
    default_index: int | None = None
    default_kernel_version: str | None = None

    @property
    def default_entry(self) -> BootEntry | None:
        if self.default_index is None or not 0 <= self.default_index < len(self.entries):
            return None
        return self.entries[self.default_index]


_KERNEL_PREFIXES = ("vmlinuz-", "vmlinux-", "bzImage-", "zImage-", "Image-", "kernel-", "linux-")
_INITRD_PATTERNS = (
    re.compile(r"^initrd\.img-(.+)$"),          # Debian, Ubuntu (initramfs-tools)
    re.compile(r"^initramfs-(.+?)\.img$"),      # RHEL, Fedora (dracut)
    re.compile(r"^initrd-(.+?)(?:\.img)?$"),    # SUSE (mkinitrd, dracut)
    re.compile(r"^initramfs-(.+)$"),            # Alpine
)


def kernel_version_from_path(path: str) -> str | None:
    """``/boot/vmlinuz-6.1.0-13-amd64`` → ``6.1.0-13-amd64``; None for a bare ``vmlinuz``."""
    name = PurePosixPath(path).name
    for prefix in _KERNEL_PREFIXES:
        if name.startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix):]
    return None


def initramfs_version_from_path(path: str) -> str | None:
    """``/boot/initramfs-5.14.0-70.el9.x86_64.img`` → ``5.14.0-70.el9.x86_64`` (kdump images excluded)."""
    name = PurePosixPath(path).name
    if "kdump" in name:
        return None
    for pattern in _INITRD_PATTERNS:
        match = pattern.match(name)
        if match:
            return match.group(1)
    return None


def boot_relative(path: str) -> str:
    """Drop grub's device prefix: ``($root)/boot/x``, ``(hd0,msdos1)/x``, ``${root}/x`` → the path."""
    path = path.strip()
    path = re.sub(r"^\([^)]*\)", "", path)
    path = re.sub(r"^\$\{?root\}?", "", path)
    return path


def kernel_args(cmdline: str) -> dict[str, list[str]]:
    """Kernel parameters by name; repeated ones (``console=``) keep every value in order.

    A bare flag (``quiet``) maps to ``[""]``.  Double quotes group a value as
    the kernel's parser does; ``--`` ends the kernel's part of the line.
    """
    args: dict[str, list[str]] = {}
    for word in _split_cmdline(cmdline):
        if word == "--":
            break
        key, _, value = word.partition("=")
        args.setdefault(key, []).append(value)
    return args


def _split_cmdline(cmdline: str) -> list[str]:
    words, current, quoted = [], [], False
    for char in cmdline:
        if char == '"':
            quoted = not quoted
        elif char.isspace() and not quoted:
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words


def _key_rest(line: str) -> tuple[str, str]:
    """``KEY  rest of line`` split at the first run of blanks (spaces or tabs)."""
    parts = line.split(None, 1)
    return (parts[0], parts[1].strip()) if len(parts) == 2 else ((parts[0], "") if parts else ("", ""))


def _with_default_version(entries: list[BootEntry], index: int | None) -> BootConfig:
    config = BootConfig(entries=entries, default_index=index if entries else None)
    entry = config.default_entry
    if entry is not None:
        config.default_kernel_version = entry.version or (kernel_version_from_path(entry.kernel) if entry.kernel else None)
    return config


# -- grub2 --

_GRUB_LINUX = {"linux", "linux16", "linuxefi"}
_GRUB_INITRD = {"initrd", "initrd16", "initrdefi"}


def _words(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=True)
    except ValueError:
        return line.split()


def _menu_id(words: list[str]) -> str | None:
    for i, word in enumerate(words[:-1]):
        if word in ("--id", "$menuentry_id_option", "${menuentry_id_option}"):
            return words[i + 1]
    return None


def _kernel_cmdline(words: list[str]) -> str:
    """Join grub's unquoted words back into a kernel command line, re-quoting values with blanks."""
    def quoted(word: str) -> str:
        if not any(c.isspace() for c in word):
            return word
        key, sep, value = word.partition("=")
        return f'{key}="{value}"' if sep else f'"{word}"'
    return " ".join(quoted(word) for word in words)


def parse_grubenv(text: str) -> dict[str, str]:
    """/boot/grub/grubenv (or /boot/grub2/grubenv): ``saved_entry``, ``kernelopts``…; the ``#`` padding is ignored."""
    env = {}
    for line in text.splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        env[key.strip()] = value
    return env


def parse_grub2_cfg(text: str, grubenv: dict[str, str] | None = None) -> BootConfig:
    """grub.cfg as generated by grub-mkconfig (Debian, Ubuntu, RHEL 7, SLES 12/15).

    ``set default=`` may be a position (``"0"``, ``"1>2"``), a title, a menu
    id, or ``${saved_entry}`` resolved from ``grubenv``; assignments from
    ``${next_entry}`` (one-shot reboots) are ignored.  With no usable
    default grub boots the first entry.  RHEL 8+ keeps its entries as BLS
    snippets instead (a bare ``blscfg`` line): read those with :func:`parse_bls`.
    """
    env = grubenv or {}
    entries: list[BootEntry] = []
    stack: list[tuple[str, BootEntry | None]] = []   # (kind, entry) per open brace
    menu_path: list[str] = []
    menu_ids: list[str | None] = []
    counters = [0]
    positions: list[str] = []
    default_value: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = _words(line)
        if not words:
            continue
        command = words[0]
        if command in ("menuentry", "submenu") and line.endswith("{"):
            title = words[1] if len(words) > 1 and words[1] != "{" else ""
            position = ">".join(positions + [str(counters[-1])])
            counters[-1] += 1
            if command == "submenu":
                stack.append(("submenu", None))
                menu_path.append(title)
                menu_ids.append(_menu_id(words))
                positions.append(position.rsplit(">", 1)[-1])
                counters.append(0)
            else:
                entry = BootEntry(title=title, id=_menu_id(words), path=menu_path + [title],
                                  id_path=menu_ids + [_menu_id(words)], position=position)
                entries.append(entry)
                stack.append(("menuentry", entry))
            continue
        if line.endswith("{"):
            stack.append(("other", None))
            continue
        if command == "}" or line == "}":
            if stack:
                kind, _ = stack.pop()
                if kind == "submenu":
                    menu_path.pop()
                    menu_ids.pop()
                    positions.pop()
                    counters.pop()
            continue
        entry = next((e for kind, e in reversed(stack) if kind == "menuentry"), None)
        if entry is not None and command in _GRUB_LINUX and len(words) > 1:
            entry.kernel = boot_relative(words[1])
            entry.cmdline = _kernel_cmdline(words[2:])
        elif entry is not None and command in _GRUB_INITRD and len(words) > 1:
            entry.initrd = boot_relative(words[-1])
        elif entry is None and command == "set" and len(words) > 1 and words[1].startswith("default="):
            value = words[1].partition("=")[2]
            if "next_entry" not in value:
                default_value = value
    return _with_default_version(entries, _grub2_default(entries, default_value, env))


def _grub2_default(entries: list[BootEntry], value: str | None, env: dict[str, str]) -> int:
    if value in ("${saved_entry}", "$saved_entry"):
        value = env.get("saved_entry") or None
    if not value:
        return 0
    wanted = value.split(">")
    # an exact path first; a path naming a submenu boots its first entry
    for exact in (True, False):
        for index, entry in enumerate(entries):
            if (len(entry.path) == len(wanted)) == exact and _grub2_path_matches(entry, wanted):
                return index
    return 0


def _grub2_path_matches(entry: BootEntry, wanted: list[str]) -> bool:
    """grub matches each level of a default by position, title or id, starting at the top menu."""
    if len(wanted) > len(entry.path):
        return False
    numbers = entry.position.split(">")
    return all(part in (numbers[level], entry.path[level], entry.id_path[level]) for level, part in enumerate(wanted))


# -- grub legacy --

def parse_grub_legacy(text: str) -> BootConfig:
    """menu.lst / grub.conf (RHEL 6, SLES 11): ``default N``, ``title``, ``kernel``, ``initrd``.

    ``default saved`` depends on /boot/grub/default, which is not read: entry 0.
    """
    entries: list[BootEntry] = []
    default = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = re.split(r"[\s=]+", line, maxsplit=1)
        command, rest = parts[0].lower(), (parts[1].strip() if len(parts) > 1 else "")
        if command == "title":
            entries.append(BootEntry(title=rest, position=str(len(entries))))
        elif command == "default" and not entries:
            default = int(rest) if rest.isdigit() else 0
        elif entries and command == "kernel" and rest:
            words = rest.split()
            # options like --type=netbsd precede the path
            while words and words[0].startswith("--"):
                words.pop(0)
            if words:
                entries[-1].kernel = boot_relative(words[0])
                entries[-1].cmdline = " ".join(words[1:])
        elif entries and command == "initrd" and rest:
            entries[-1].initrd = boot_relative(rest.split()[-1])
    return _with_default_version(entries, default if default < len(entries) else 0)


# -- /etc/default/grub --

def parse_default_grub(text: str) -> dict[str, str]:
    """/etc/default/grub: ``GRUB_CMDLINE_LINUX``, ``GRUB_CMDLINE_LINUX_DEFAULT``, ``GRUB_DEFAULT``…"""
    return shell_vars(text)


# -- syslinux / extlinux --

def parse_extlinux(text: str) -> BootConfig:
    """extlinux.conf / syslinux.cfg (Alpine): ``DEFAULT`` names a label; else ``MENU DEFAULT``; else the first.

    ``INCLUDE`` files are not followed here: see :func:`extlinux_includes`.
    """
    entries: list[BootEntry] = []
    default_label: str | None = None
    menu_default: int | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, rest = _key_rest(line)
        key = key.upper()
        if key == "LABEL":
            entries.append(BootEntry(title=rest, id=rest, position=str(len(entries))))
        elif key == "DEFAULT" and not entries:
            default_label = rest.split()[0] if rest else None
        elif not entries:
            continue
        elif key in ("LINUX", "KERNEL") and rest:
            entries[-1].kernel = rest.split()[0]
        elif key == "INITRD" and rest:
            entries[-1].initrd = rest.split(",")[-1].strip()
        elif key == "APPEND":
            entries[-1].cmdline = rest
            if entries[-1].initrd is None and "initrd" in kernel_args(rest):   # old style: APPEND initrd=…
                entries[-1].initrd = kernel_args(rest)["initrd"][-1].split(",")[-1]
        elif key == "MENU":
            sub, value = _key_rest(rest)
            if sub.upper() == "LABEL" and value:
                entries[-1].title = value
            elif sub.upper() == "DEFAULT":
                menu_default = len(entries) - 1
    index = next((i for i, e in enumerate(entries) if e.id == default_label), None)
    if index is None:
        index = menu_default if menu_default is not None else 0
    return _with_default_version(entries, index)


def extlinux_includes(text: str) -> list[str]:
    """``INCLUDE``/``MENU INCLUDE`` file names, for the caller to append before parsing (Debian's linux.cfg)."""
    found = []
    for raw in text.splitlines():
        key, rest = _key_rest(raw.strip())
        if key.upper() == "MENU":
            key, rest = _key_rest(rest)
        if key.upper() == "INCLUDE" and rest:
            found.append(rest.split()[0])
    return found


# -- Boot Loader Specification (systemd-boot, grub2 blscfg on RHEL 8+) --

def _expander(variables: dict[str, str]) -> Callable[[str], str]:
    """Replace ``$name``/``${name}`` known to ``variables``; unknown ones stay visible."""
    pattern = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
    return lambda text: pattern.sub(lambda m: variables.get(m.group(1), m.group(0)), text)


def parse_loader_entry(text: str, entry_id: str | None = None, variables: dict[str, str] | None = None) -> BootEntry:
    """One /loader/entries/*.conf snippet; ``$kernelopts`` style variables come from ``variables`` (grubenv)."""
    values: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, value = _key_rest(line)
        values.setdefault(key, []).append(value)
    expand = _expander(variables or {})
    options = expand(" ".join(values.get("options", [])))
    initrds = [word for word in expand(" ".join(values.get("initrd", []))).split() if not word.startswith("$")]
    version = values.get("version", [None])[0]
    return BootEntry(
        title=values.get("title", [entry_id or ""])[0],
        kernel=values.get("linux", [None])[0],
        initrd=initrds[-1] if initrds else None,
        cmdline=" ".join(options.split()),
        id=entry_id,
        version=version,
    )


def version_key(text: str) -> list[tuple[int, object]]:
    """Natural order of version strings: ``5.14.0-70`` < ``5.14.0-162``."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text) if part]


def parse_loader_conf(text: str) -> dict[str, str]:
    """/loader/loader.conf (systemd-boot): ``default`` (an id or a glob), ``timeout``…"""
    result = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, value = _key_rest(line)
            result[key] = value
    return result


def parse_bls(files: list[tuple[str, str]], default: str | None = None, variables: dict[str, str] | None = None) -> BootConfig:
    """A directory of BLS entries, as (path, text) pairs, newest version first.

    ``default`` is grubenv's ``saved_entry`` (RHEL 8+) or loader.conf's
    ``default`` (systemd-boot; a glob allowed, ``.conf`` optional); without
    one, or when it matches nothing, the newest entry boots.
    """
    entries = [parse_loader_entry(text, PurePosixPath(path).name.removesuffix(".conf"), variables) for path, text in files]
    entries.sort(key=lambda e: version_key(e.version or e.id or ""), reverse=True)
    for i, entry in enumerate(entries):
        entry.position = str(i)
    index = 0
    if default:
        pattern = default.removesuffix(".conf")
        index = next((i for i, e in enumerate(entries) if e.id and fnmatch.fnmatchcase(e.id, pattern)), 0)
    return _with_default_version(entries, index)
