"""The layers below the front ends (core, planners, worlds, analysis) import and run with every front-end package
blocked, and importing a core module is cheap (the package's public names load lazily)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BLOCKED = ("panel", "plotly", "bokeh", "ipywidgets", "IPython", "jupyter", "jupyter_core", "jupyter_client",
           "ipykernel", "param", "tornado", "holoviews", "matplotlib", "nbformat")

SCRIPT = textwrap.dedent("""
    import sys
    BLOCKED = {blocked!r}

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked in this test: {{name}}")
            return None

    sys.meta_path.insert(0, Block())
    try:  # the blocker works
        import plotly
    except ImportError:
        pass
    else:
        raise SystemExit("blocker did not block")

    import importlib, pkgutil
    import graspviz
    names = []
    for layer in ("core", "planners", "worlds", "analysis"):
        pkg = importlib.import_module("graspviz." + layer)
        names += [m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]
    for name in names:
        importlib.import_module(name)
    assert "graspviz.analysis.mpc" in names and "graspviz.worlds.sims.pusht" in names, names
    problem = graspviz.get_world("wall").sample_problems(1, horizon=4)
    h = graspviz.run(graspviz.make_planner("grasp", steps=2), problem)
    assert h.stop_reason is None and len(h) == 3
    loaded = graspviz.History.load(h.to_bytes())
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    assert not leaked, leaked
    print("core-ok")
""")


def test_core_imports_with_front_ends_blocked():
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(blocked=BLOCKED)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("core-ok")


def test_importing_a_core_module_is_cheap():
    """``import graspviz.core.metrics`` loads neither torch nor the planners and worlds (it used to take ~2 s)."""
    code = ("import sys, graspviz.core.metrics, graspviz.core.errors, graspviz\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy') or "
            "m.startswith(('graspviz.planners', 'graspviz.worlds', 'graspviz.analysis'))))")
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]", out.stdout
