"""The micro-benchmark runs and reports; its comparison loop is the same update as GRASP's.

Speed targets belong to the benchmark's output, never to these tests.
"""

from __future__ import annotations

import json
import math

import pytest
import torch

import graspviz as gv
from graspviz import cli
from graspviz.analysis import micro as bench
from graspviz.analysis.micro import LoopGrasp
from graspviz.analysis.timing import toy_model, toy_problem
from graspviz.planners.grasp import Grasp
from helpers import absolute

TINY = dict(horizons=(3, 6), batch=2, state_dim=4, action_dim=2, hidden=8, repeats=2, warmup=1, sync_periods=1)


def test_micro_rows_have_every_key_and_positive_numbers():
    rows = bench.micro(**TINY, device="cpu")
    assert [r["T"] for r in rows] == [3, 6]
    for r in rows:
        assert set(bench.ROW_KEYS) <= set(r)
        for k in ("floor_ms", "grasp_ms", "grasp_sync_ms", "loop_ms", "grasp_over_floor", "loop_over_grasp"):
            assert math.isfinite(r[k]) and r[k] > 0, k
        assert r["grasp_over_floor"] == pytest.approx(r["grasp_ms"] / r["floor_ms"])
        assert r["loop_over_grasp"] == pytest.approx(r["loop_ms"] / r["grasp_ms"])
        assert r["device"] == "cpu" and r["B"] == 2 and r["hidden"] == 8
        assert r["same_update"] is True
    table = bench.to_table(rows)
    assert "| 3 |" in table and "| 6 |" in table and "targets:" in table


def test_bench_micro_command_writes_json(capsys, tmp_path):
    path = tmp_path / "micro.json"
    code = cli.main(["bench", "--micro", "--horizons", "3", "5", "--batch", "2", "--state-dim", "4", "--action-dim", "2",
                     "--hidden", "8", "--repeats", "2", "--warmup", "0", "--sync-periods", "1", "--device", "cpu",
                     "--json", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = json.loads(path.read_text())
    assert [r["T"] for r in rows] == [3, 5]
    assert all(set(bench.ROW_KEYS) <= set(r) for r in rows)
    assert "GRASP / floor" in out and "loop / GRASP" in out


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_loop_update_is_the_same_update_as_grasp(optimizer):
    """The comparison implementation computes GRASP's update, one model call per time step (float64)."""
    problem = toy_problem(toy_model(4, 2, 16, dtype=torch.float64, seed=3), 3, 5, seed=3)
    settings = dict(sync=False, optimizer=optimizer, sigma=0.05, gamma=0.5)
    planner, loop = absolute("grasp", **settings), LoopGrasp(Grasp.Config().fixed(), **settings)
    a = b = planner.init(problem, seed=7)
    for _ in range(4):
        a = planner.update(problem, a)[0]
        b = loop.update(problem, b)[0]
    assert a.iteration == b.iteration == 4
    for name in ("states", "actions", "m_s", "v_s", "m_a", "v_a"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name), rtol=1e-10, atol=1e-12, msg=name)


def test_loop_update_calls_the_model_once_per_step():
    problem = toy_problem(toy_model(3, 2, 8), 2, 6)
    calls = []
    inner = problem.model._fn
    problem.model._fn = lambda s, a: calls.append(s.shape) or inner(s, a)
    planner = absolute("grasp", sync=False)
    state = planner.init(problem)
    LoopGrasp(planner.config).update(problem, state)
    assert calls == [torch.Size([2, 3])] * 6
    calls.clear()
    planner.update(problem, state)
    assert calls == [torch.Size([12, 3])]  # GRASP: B*T pairs in one call


def test_bad_sizes_are_refused():
    with pytest.raises(gv.GraspvizError, match="horizons"):
        bench.micro(horizons=(1,), repeats=1)
    with pytest.raises(gv.GraspvizError, match="repeats"):
        bench.micro(horizons=(3,), repeats=0)
