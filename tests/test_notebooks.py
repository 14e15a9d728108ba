"""Static checks of the example notebooks (executing them is nbval's job: see notebooks/_build.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks in {NB_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(_code(nb)):
        assert not cell.get("outputs"), f"{path.name}: code cell {i} has stored outputs"
        assert cell.get("execution_count") is None, f"{path.name}: code cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_shape(path):
    nb = nbformat.read(path, as_version=4)
    code = _code(nb)
    assert code, f"{path.name} has no code cells"
    assert "setup(" in code[0].source, f"{path.name}: the first code cell must call graspviz.notebook.setup"
    assert "assert" in code[-1].source, f"{path.name}: the last code cell must assert the key result"
    assert any(c.cell_type == "markdown" for c in nb.cells), f"{path.name} has no markdown"


def test_notebooks_match_generator():
    """The .ipynb files are exactly what notebooks/_build.py writes (edit the generator, not the notebooks)."""
    spec = importlib.util.spec_from_file_location("_nb_build", NB_DIR / "_build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert sorted(mod.NOTEBOOKS) == [p.name for p in NOTEBOOKS]
    for name, cells in mod.NOTEBOOKS.items():
        stored = nbformat.read(NB_DIR / name, as_version=4)
        assert [(c.cell_type, c.source) for c in stored.cells] == [(c.cell_type, c.source) for c in cells], name


def test_setup(monkeypatch, capsys):
    from graspviz.notebook import setup
    monkeypatch.setenv("GRASPVIZ_FAST", "1")
    env = setup(seed=3)
    assert env.device in ("cpu", "cuda") and env.fast and env.steps(100, 5) == 5
    assert "device=" in capsys.readouterr().out
    monkeypatch.delenv("GRASPVIZ_FAST")
    assert setup().steps(100, 5) == 100
