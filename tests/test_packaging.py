"""The wheel holds every file the code opens: a non-editable install (``pip install .``, a
wheel) must build the sample and render the card as an editable one does.

The wheel is built with the project's own build backend (setuptools, from the ``test`` extra),
without build isolation, so no network is needed. ``.ci/run`` also installs that wheel into
a fresh venv and runs ``dance-aggregate build --sample`` with an empty cache.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "dance_aggregate"


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    # A copy of what the wheel is built from: setuptools builds in the source tree (build/),
    # and leftovers there from earlier builds could hide a file missing from package data.
    src = tmp_path_factory.mktemp("wheel-src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    [wheel] = out.glob("dance_aggregate-*.whl")
    with zipfile.ZipFile(wheel) as z:
        return set(z.namelist())


def _data_files() -> list[str]:
    """Every file of the package that is not Python source (what package data must carry)."""
    return sorted(
        p.relative_to(PACKAGE.parent).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    )


def _resource_paths() -> list[tuple[str, str]]:
    """``resources.files("pkg").joinpath("a/b")`` (or ``/ "a/b"``) in the code: (file, path in the wheel)."""
    out = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "joinpath"):
                continue
            base = node.func.value
            if (
                isinstance(base, ast.Call)
                and getattr(base.func, "attr", None) == "files"
                and base.args
                and isinstance(base.args[0], ast.Constant)
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                package = base.args[0].value.replace(".", "/")
                out.append((path.name, f"{package}/{node.args[0].value}"))
    return out


@pytest.mark.slow
def test_every_data_file_is_in_the_wheel(wheel_files: set[str]) -> None:
    data = _data_files()
    # Each source package's crosswalk and class list are read at import (builders.base.load_crosswalk).
    for name in ("builders/ucf101/classInd.txt", "builders/kinetics600/classes.txt", "builders/kinetics600/crosswalk.yaml",
                 "hub/card_template.md"):
        assert f"dance_aggregate/{name}" in data, name
    assert "dance_aggregate/builders/aist/crosswalk.yaml" in data and "dance_aggregate/builders/kinetics700/crosswalk.yaml" in data
    missing = [f for f in data if f not in wheel_files]
    assert not missing, f"not in the wheel (add them to [tool.setuptools.package-data]): {missing}"


@pytest.mark.slow
def test_every_resource_the_code_opens_is_in_the_wheel(wheel_files: set[str]) -> None:
    opened = _resource_paths()
    # The card template and the taxonomy; the source packages open theirs through
    # resources.files(package), which test_every_data_file_is_in_the_wheel covers.
    assert len(opened) >= 2, opened
    missing = [f"{where}: {p}" for where, p in opened if p not in wheel_files]
    assert not missing, missing


def test_package_data_patterns_match_files() -> None:
    """A stale pattern (files moved away) would hide a missing file behind a green config."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for package, patterns in config.items():
        folder = PACKAGE.parent / package.replace(".", "/")
        for pattern in patterns:
            assert list(folder.glob(pattern)), f"package-data {package}: {pattern} matches no file"
