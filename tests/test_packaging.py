"""Packaging: what is installed is what pyproject.toml pins, environment.yml and CI add nothing of their own, the
wheel holds the package and nothing else, and the README's two commands are what CI and the Makefile run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from importlib import metadata

import pytest
import yaml
from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(name: str) -> str:
    with open(os.path.join(ROOT, name)) as f:
        return f.read()


@pytest.fixture(scope="module")
def pyproject():
    return tomllib.loads(read("pyproject.toml"))


def requirements(pyproject, *extras) -> list[Requirement]:
    project = pyproject["project"]
    return [Requirement(r) for r in project["dependencies"] + [r for e in extras for r in project["optional-dependencies"][e]]]


def test_the_installed_packages_are_the_pinned_ones(pyproject):
    """Every runtime and test dependency is installed at a version inside its declared range (the ranges are
    what this project was tested with), and every range has an upper bound."""
    for req in requirements(pyproject, "test"):
        assert any(spec.operator in ("<", "<=", "==", "~=") for spec in req.specifier), f"{req} has no upper bound"
        version = metadata.version(req.name)
        assert req.specifier.contains(version, prereleases=True), f"{req.name} {version} is outside {req.specifier}"


def test_environment_yml_installs_the_package_and_nothing_else(pyproject):
    env = yaml.safe_load(read("environment.yml"))
    assert env["name"] == "graspviz" and env["channels"]
    deps = env["dependencies"]
    assert "python" + pyproject["project"]["requires-python"] in deps and "pip" in deps
    (pip,) = [d["pip"] for d in deps if isinstance(d, dict)]
    assert pip == ["-e .[test]"]  # pyproject.toml is the one list of packages


def test_the_setup_scripts_torch_pin_is_inside_the_declared_range(pyproject):
    pin = re.search(r'TORCH_PIN="\$\{TORCH_PIN:-torch==([0-9.]+)\}"', read("scripts/setup.sh")).group(1)
    (torch,) = [r for r in requirements(pyproject) if r.name == "torch"]
    assert torch.specifier.contains(pin)


def test_the_console_script_runs():
    (entry,) = [e for e in metadata.entry_points(group="console_scripts") if e.name == "graspviz"]
    main = entry.load()
    assert main(["--version"]) == 0


def test_the_wheel_holds_the_package_only(tmp_path):
    """Weights, images, docs and the browser benchmarks stay in the source tree."""
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                          str(tmp_path), ROOT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    (wheel,) = tmp_path.glob("graspviz-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"graspviz", next(t for t in tops if t.endswith(".dist-info"))}, tops
    assert "graspviz/analysis/mpc.py" in names and "graspviz/core/types.py" in names
    assert not [n for n in names if n.endswith((".safetensors", ".png", ".ipynb"))]


def test_the_package_ships_no_big_files():
    for folder, _, files in os.walk(os.path.join(ROOT, "graspviz")):
        if "__pycache__" in folder:
            continue
        for f in files:
            size = os.path.getsize(os.path.join(folder, f))
            assert size < 512 * 1024, f"{os.path.join(folder, f)} is {size} bytes"


def test_the_readme_commands_are_what_ci_and_make_run():
    """The README's first screen has exactly two commands; CI runs the test one; `make test` (dry run) checks the
    import layers, lints, and runs tests/ and the notebooks."""
    first_screen = read("README.md").splitlines()[:25]
    block = first_screen[first_screen.index("```bash") + 1:]
    commands = [line.split("#")[0].strip() for line in block[:block.index("```")]]
    assert commands == ["make run", "make test"]
    assert "http://127.0.0.1:5006" in "\n".join(first_screen)
    ci = read(".ci/run")
    assert os.access(os.path.join(ROOT, ".ci", "run"), os.X_OK) and "set -euo pipefail" in ci
    assert [line.strip() for line in ci.splitlines() if line.strip().startswith("make")] == ["make test"]
    dry = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    steps = dry.stdout
    assert "lint-imports" in steps and "ruff check" in steps
    assert re.search(r"-m pytest tests .*--nbval-lax --nbval-current-env notebooks/", steps), steps
    assert "GRASPVIZ_FAST=1" in steps
