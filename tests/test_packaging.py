"""A regular (non-editable) wheel carries the built-in profiles and finds them away from the checkout."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Not sources: the wheel is built from a copy without them, so the work tree gets no build/ or egg-info.
NOT_SOURCES = shutil.ignore_patterns(".git", ".venv", ".cache", ".pytest_cache", "build", "dist", "*.egg-info",
                                     "__pycache__", "out")


def run(argv: list, cwd: Path | None = None) -> str:
    done = subprocess.run([str(arg) for arg in argv], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, f"{argv[0]} … {argv[-1]} failed:\n{done.stderr}"
    return done.stdout


def test_installed_wheel_lists_the_builtin_profiles(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=NOT_SOURCES)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", source, "-w", tmp_path])
    wheel = next(tmp_path.glob("imgtools-*.whl"))
    builtin = sorted(path.stem for path in (ROOT / "checks").glob("*.yaml"))
    with zipfile.ZipFile(wheel) as archive:
        assert {f"imgtools/builtin_profiles/{name}.yaml" for name in builtin} <= set(archive.namelist())

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", venv])
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(run([venv / "bin" / "python", "-c", purelib]).strip()).resolve()
    # The runtime dependencies come from this test's environment, searched after the wheel's own site-packages.
    (site / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "-q", "--no-deps", wheel])

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    rows = json.loads(run([venv / "bin" / "imgtools", "profiles", "--json"], cwd=elsewhere))
    assert sorted(row["name"] for row in rows) == builtin
    assert {"huaweicloud", "openstack", "aws", "azure", "gce"} <= set(builtin)
    assert all(Path(row["source"]).is_relative_to(site / "imgtools" / "builtin_profiles") for row in rows)
