"""The wheel as a user gets it: built, installed into a fresh venv, imported and run.

An editable install reads the source tree, so it hides a sub-package or a data file that
the wheel leaves out. Here every module of the source tree must import from the venv's
own site-packages, the stylesheet must be found there, and both console scripts must run.

The venv sees the system site-packages so that the dependencies need no download; the
outer environment's editable nbtui is visible there too, so every imported file is
checked to come from the venv, not from the source tree.
"""

from __future__ import annotations

import email
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import trove_classifiers

tomllib = pytest.importorskip("tomllib", reason="tomllib comes with Python 3.11")

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]
NAME = PYPROJECT["project"]["name"]

# Run inside the venv: imports every module given on the command line (after the
# distribution's name) and reports where each came from, and where the stylesheet is.
PROBE = """
import importlib, importlib.metadata, importlib.resources, json, sys, sysconfig
found = {}
for name in sys.argv[2:]:
    found[name] = importlib.import_module(name).__file__
print(json.dumps({
    "purelib": sysconfig.get_paths()["purelib"],
    "modules": found,
    "tcss": str(importlib.resources.files("nbtui.styles") / "nbtui.tcss"),
    "version": importlib.metadata.version(sys.argv[1]),
}))
"""


def _source_modules() -> list[str]:
    """Every module of the packages pyproject maps, found in the source tree."""
    package_dirs: dict[str, str] = PYPROJECT["tool"]["setuptools"]["package-dir"]
    modules: set[str] = set()
    for package, folder in package_dirs.items():
        base = ROOT / folder
        for path in base.rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules.add(".".join([package, *parts]))
    return sorted(modules)


def _run(
    command: list[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 0, (
        f"{command} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the tree so the build leaves nothing in it."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            ".*_cache",
            ".venv",
            "venv",
            "tests",
            "bench",
            "screenshots",
        ),
    )
    dist = root / "dist"
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", dist, source])
    (built,) = dist.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the wheel installed (dependencies come from the system site-packages)."""
    path = tmp_path_factory.mktemp("venv") / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", path])
    _run(
        [
            path / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--force-reinstall",
            "--disable-pip-version-check",
            wheel,
        ]
    )
    return path


def _clean_env() -> dict[str, str]:
    """Nothing but the venv and the system site-packages on the path."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PYTHONNOUSERSITE"] = "1"
    return env


@pytest.mark.timeout(600)
def test_wheel_holds_every_module_and_the_stylesheet(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [
        module
        for module in _source_modules()
        if f"{module.replace('.', '/')}.py" not in names
        and f"{module.replace('.', '/')}/__init__.py" not in names
    ]
    assert not missing, f"left out of the wheel: {missing}"
    for tcss in (ROOT / "styles").glob("*.tcss"):
        assert f"nbtui/styles/{tcss.name}" in names
    assert "nbtui/app/py.typed" in names


@pytest.mark.timeout(600)
def test_installed_wheel_imports_every_module_from_the_venv(venv: Path, tmp_path: Path) -> None:
    modules = _source_modules()
    assert "nbtui.app.main" in modules and "nbtui.app.kernel.client" in modules
    result = _run(
        [venv / "bin" / "python", "-c", PROBE, NAME, *modules], cwd=tmp_path, env=_clean_env()
    )
    report = json.loads(result.stdout)
    purelib = Path(report["purelib"]).resolve()
    assert purelib.is_relative_to(venv.resolve())
    for name, file in report["modules"].items():
        assert Path(file).resolve().is_relative_to(purelib), f"{name} came from {file}"
    tcss = Path(report["tcss"])
    assert tcss.is_file()
    assert tcss.resolve().is_relative_to(purelib), f"the stylesheet came from {tcss}"
    assert report["version"] == VERSION


@pytest.mark.timeout(600)
@pytest.mark.parametrize("script", ["nbtui", "jupyter-nbtui"])
def test_installed_console_scripts_run(venv: Path, tmp_path: Path, script: str) -> None:
    result = _run([venv / "bin" / script, "--version"], cwd=tmp_path, env=_clean_env())
    assert result.stdout.strip() == f"nbtui {VERSION}"
    assert result.stderr == ""


@pytest.mark.timeout(600)
def test_jupyter_nbtui_runs_the_venvs_script(venv: Path, tmp_path: Path) -> None:
    """`jupyter nbtui` finds `jupyter-nbtui` on PATH: with only the venv's bin and the
    system's default directories there, the one it runs is the wheel's."""
    env = _clean_env()
    env["PATH"] = os.pathsep.join([str(venv / "bin"), os.defpath])
    # `python -m jupyter_core` is the `jupyter` command; jupyter_core comes from the
    # system site-packages, like the other dependencies.
    result = _run(
        [venv / "bin" / "python", "-m", "jupyter_core", "nbtui", "--version"], cwd=tmp_path, env=env
    )
    assert result.stdout.strip() == f"nbtui {VERSION}"


@pytest.mark.timeout(600)
def test_version_comes_from_the_wheels_own_metadata(wheel: Path, tmp_path: Path) -> None:
    """`nbtui --version` reads the version of the distribution the wheel installs.

    Run without site-packages (`-S`) and with only the wheel's files on the path: another
    `nbtui` distribution installed on the machine (PyPI's `nbtui` is someone else's) must
    not be what answers.
    """
    target = tmp_path / "site"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
            target,
            wheel,
        ]
    )
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import importlib.metadata, nbtui.app; "
        "print(nbtui.app.__version__, importlib.metadata.version(sys.argv[2]))"
    )
    result = _run([sys.executable, "-S", "-c", probe, target, NAME], cwd=tmp_path, env=_clean_env())
    assert result.stdout.split() == [VERSION, VERSION]


@pytest.mark.timeout(600)
def test_wheel_metadata_names_a_distribution_of_our_own(wheel: Path) -> None:
    """The name on the package index is ours (`nbtui` there is a 2021 notebook viewer),
    and the metadata says what the project is."""
    assert wheel.name.startswith("jupyter_nbtui-")
    with zipfile.ZipFile(wheel) as archive:
        (path,) = (name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        message = email.message_from_bytes(archive.read(path))
        # BSD-3-Clause: a binary distribution carries the licence's text.
        licence = [name for name in archive.namelist() if name.endswith("/licenses/LICENSE")]
        assert licence, archive.namelist()
        assert b"BSD 3-Clause License" in archive.read(licence[0])
    assert message["Name"] == "jupyter-nbtui"
    assert message["Version"] == VERSION
    assert message["Summary"]
    assert message["Description-Content-Type"] == "text/markdown"
    assert message["License-Expression"] == "BSD-3-Clause"
    assert message["License-File"] == "LICENSE"
    assert message["Author"]
    assert message["Keywords"]
    classifiers = message.get_all("Classifier")
    assert "Environment :: Console" in classifiers
    assert "Framework :: Jupyter" in classifiers
    major_minor = f"Programming Language :: Python :: {sys.version_info[0]}.{sys.version_info[1]}"
    assert major_minor in classifiers
    # The package index refuses an upload with a classifier it does not know.
    unknown = [item for item in classifiers if item not in trove_classifiers.classifiers]
    assert not unknown, f"not trove classifiers: {unknown}"
    readme = message.get_payload()
    assert isinstance(readme, str) and readme.startswith("# nbtui")
    assert "pip install jupyter-nbtui" in readme


@pytest.mark.timeout(600)
def test_wheel_passes_twine_check(wheel: Path) -> None:
    """twine check renders the README as the package index would, and fails on warnings."""
    result = _run([sys.executable, "-m", "twine", "check", "--strict", wheel])
    assert "PASSED" in result.stdout
