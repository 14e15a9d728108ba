"""Packaging: pyproject.toml and environment.yml agree; the set-up commands the README promises exist."""

from __future__ import annotations

import os
import re
import stat

import pytest
import yaml

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


@pytest.fixture(scope="module")
def env():
    return yaml.safe_load(read("environment.yml"))


def split(req: str) -> tuple[str, str]:
    """'Torch >= 2.2' -> ('torch', '>=2.2'): normalised name (PEP 503) and version specifier."""
    m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$", req)
    assert m, req
    return re.sub(r"[-_.]+", "-", m.group(1)).lower(), m.group(3).replace(" ", "")


def test_environment_yml_has_the_conda_layout(env, pyproject):
    assert env["name"] == "graspviz"
    assert isinstance(env["channels"], list) and env["channels"]
    deps = env["dependencies"]
    python = [d for d in deps if isinstance(d, str) and split(d)[0] == "python"]
    assert python == ["python" + pyproject["project"]["requires-python"]]
    assert "pip" in deps
    pip = [d for d in deps if isinstance(d, dict)]
    assert len(pip) == 1 and set(pip[0]) == {"pip"}
    assert "-e .[test]" in pip[0]["pip"]


def test_environment_yml_and_pyproject_list_the_same_packages(env, pyproject):
    project = pyproject["project"]
    want = dict(split(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    have = {}
    for d in env["dependencies"]:
        items = d["pip"] if isinstance(d, dict) else [d]
        for item in items:
            if item.startswith("-e ") or split(item)[0] in ("python", "pip"):
                continue
            name, spec = split(item)
            assert name not in have, f"{name} listed twice in environment.yml"
            have[name] = spec
    assert have == want


def test_pyproject_metadata(pyproject):
    project = pyproject["project"]
    assert project["name"] == "graspviz"
    assert project["requires-python"] == ">=3.10"
    assert project["scripts"] == {"graspviz": "graspviz.cli:main"}
    deps = dict(split(r) for r in project["dependencies"])
    assert deps["torch"] == ">=2.2"  # so a pre-installed torch 2.13.0 CPU build satisfies it
    for name in ("numpy", "jupyterlab", "ipywidgets", "plotly", "panel", "nbval", "safetensors", "tqdm", "gymnasium",
                 "gym-pusht", "gymnasium-robotics", "mujoco", "pyyaml"):
        assert name in deps, name
    extras = project["optional-dependencies"]
    test = {split(r)[0] for r in extras["test"]}
    assert {"pytest", "pytest-playwright", "playwright", "hypothesis", "pytest-timeout", "nbclient", "ipykernel", "nbformat"} <= test
    dev = {split(r)[0] for r in extras["dev"]}
    assert "ruff" in dev and ("graspviz" in dev or test <= dev)
    assert {split(r)[0] for r in extras["ray"]} == {"ray"}
    pytest_cfg = pyproject["tool"]["pytest"]["ini_options"]
    assert pytest_cfg["testpaths"] == ["tests"]
    assert {m.split(":")[0] for m in pytest_cfg["markers"]} >= {"ui", "slow"}
    assert pytest_cfg["timeout"] > 0


def test_the_package_ships_no_big_files():
    """Weights and images live in assets/ at the repository root, never inside the package."""
    for folder, _, files in os.walk(os.path.join(ROOT, "graspviz")):
        if "__pycache__" in folder:
            continue
        for f in files:
            size = os.path.getsize(os.path.join(folder, f))
            assert size < 512 * 1024, f"{os.path.join(folder, f)} is {size} bytes"


def test_make_targets_and_ci_script():
    makefile = read("Makefile")
    for target in ("setup", "run", "test-setup", "test"):
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), target
    assert "GRASPVIZ_FAST=1" in makefile and "TQDM_DISABLE=1" in makefile and "--nbval-lax" in makefile
    setup = read("scripts/setup.sh")
    assert "torch==2.13.0" in setup and "-m venv" in setup and '-e ".[test]"' in setup
    assert "apt-get install -y chromium" in read("scripts/install_chromium.sh")
    ci = os.path.join(ROOT, ".ci", "run")
    assert os.stat(ci).st_mode & stat.S_IXUSR
    text = read(".ci/run")
    assert "set -euo pipefail" in text and "make test" in text


def test_readme_first_screen_shows_the_two_commands():
    first_screen = "\n".join(read("README.md").splitlines()[:25])
    assert "make run" in first_screen and "make test" in first_screen
    assert "http://127.0.0.1:5006" in first_screen
