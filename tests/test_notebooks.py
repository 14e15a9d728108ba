"""Static checks of the example notebooks (executing them is nbval's job).

Each notebook has ONE source, ``notebooks/NN_name.py`` in jupytext's percent format (``# %%`` code cells,
``# %% [markdown]`` markdown cells), paired with the committed ``notebooks/NN_name.ipynb``, which carries no
outputs. Edit the .py, then regenerate the notebook: ``jupytext --sync notebooks/NN_name.py``.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import jupytext
import nbformat
import pytest

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("*.ipynb"))
SOURCES = sorted(NB_DIR.glob("*.py"))
STEMS = sorted({p.stem for p in NOTEBOOKS} | {p.stem for p in SOURCES})
PAIRING = "ipynb,py:percent"


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source) for c in nb.cells]


def _regenerate(stem: str) -> str:
    return f"edit notebooks/{stem}.py, then run `jupytext --sync notebooks/{stem}.py`"


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks in {NB_DIR}"


def test_every_notebook_has_a_source_and_every_source_a_notebook():
    no_source = sorted(p.name for p in NOTEBOOKS if not p.with_suffix(".py").exists())
    no_notebook = sorted(p.name for p in SOURCES if not p.with_suffix(".ipynb").exists())
    assert not no_source, f"notebooks without a percent-format source (.py): {no_source}"
    assert not no_notebook, f"sources without a paired notebook (.ipynb): {no_notebook}; run `jupytext --sync` on them"


@pytest.mark.parametrize("stem", STEMS)
def test_notebook_matches_its_source(stem):
    """The committed .ipynb holds exactly the cells (type and source) and the notebook metadata that jupytext
    makes from the .py source."""
    source, notebook = NB_DIR / f"{stem}.py", NB_DIR / f"{stem}.ipynb"
    assert source.exists() and notebook.exists(), f"{stem}: needs both {source.name} and {notebook.name}"
    want = jupytext.read(source, fmt="py:percent")
    have = nbformat.read(notebook, as_version=4)
    if _cells(have) != _cells(want):
        for i, (h, w) in enumerate(zip(_cells(have), _cells(want))):
            if h != w:
                break
        else:
            i, h, w = min(len(have.cells), len(want.cells)), None, None
        diff = "" if h is None or w is None else "\n".join(difflib.unified_diff(
            h[1].splitlines(), w[1].splitlines(), f"{notebook.name} ({h[0]})", f"{source.name} ({w[0]})", lineterm=""))
        pytest.fail(f"{notebook.name} is out of sync with {source.name} ({len(have.cells)} vs {len(want.cells)} cells; "
                    f"first difference in cell {i}): {_regenerate(stem)}\n{diff}")
    expected_meta = nbformat.reads(jupytext.writes(want, fmt="ipynb"), as_version=4).metadata
    assert have.metadata == expected_meta, (f"{notebook.name}: notebook metadata {dict(have.metadata)} differs from "
                                            f"what jupytext writes from {source.name}; {_regenerate(stem)}")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_source_is_a_paired_percent_script(path):
    """The header pairs the .py with its .ipynb, and the file is in jupytext's own layout, so
    ``jupytext --sync`` regenerates the notebook without rewriting the source."""
    text = path.read_text()
    nb = jupytext.reads(text, fmt="py:percent")
    jt = nb.metadata.get("jupytext", {})
    assert jt.get("formats") == PAIRING, f"{path.name}: the jupytext header must pair formats: {PAIRING}"
    assert jt.get("text_representation", {}).get("format_name") == "percent", f"{path.name}: not in percent format"
    assert "jupytext_version" not in jt.get("text_representation", {}), f"{path.name}: header carries a jupytext version"
    assert jupytext.writes(nb, fmt="py:percent") == text, f"{path.name} is not in jupytext's layout: run `jupytext --sync` on it"


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


def test_setup(monkeypatch, capsys):
    from graspviz.notebook import setup
    monkeypatch.setenv("GRASPVIZ_FAST", "1")
    env = setup(seed=3)
    assert env.device in ("cpu", "cuda") and env.fast and env.steps(100, 5) == 5
    assert "device=" in capsys.readouterr().out
    monkeypatch.delenv("GRASPVIZ_FAST")
    assert setup().steps(100, 5) == 100
