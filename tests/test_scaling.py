"""Time per iteration and memory vs horizon and batch (graspviz.analysis.scaling), on tiny sizes.

No speed assertions here (those live in the benchmark); structure only: GRASP makes ONE model
call per iteration, GD one per time step, and the memory measure grows with T and B.
"""

from __future__ import annotations

import pytest
import torch

import graspviz as gv
from graspviz.analysis import scaling as S
from helpers import assert_one_line, needs_cuda

TINY = dict(S=4, A=2, hidden=8, iters=1, warmup=0)


@pytest.fixture(scope="module")
def rows():
    return S.scaling(horizons=(4, 8), batches=(1, 3), **TINY)


def test_rows_have_the_keys(rows):
    assert len(rows) == 2 * 2 * 2
    assert [(r["planner"], r["batch"], r["horizon"]) for r in rows] == \
        [(p, B, T) for p in S.PLANNERS for B in (1, 3) for T in (4, 8)]
    for r in rows:
        assert set(S.ROW_KEYS) <= set(r)
        assert r["time_per_iter_ms"] > 0 and r["peak_memory_bytes"] > 0
        assert r["device"] == "cpu" and r["memory_method"].startswith("saved-for-backward")
        assert (r["state_dim"], r["action_dim"], r["hidden"]) == (4, 2, 8)


def test_grasp_makes_one_model_call_per_iteration_gd_one_per_step(rows):
    for r in rows:
        want = 1 if r["planner"] == "grasp-no-sync" else r["horizon"]
        assert r["model_calls_per_iter"] == want, r


def test_memory_grows_with_horizon_and_batch(rows):
    mem = {(r["planner"], r["batch"], r["horizon"]): r["peak_memory_bytes"] for r in rows}
    for p in S.PLANNERS:
        assert mem[(p, 1, 8)] > mem[(p, 1, 4)] and mem[(p, 3, 8)] > mem[(p, 1, 8)]


def test_growth_and_markdown(rows):
    g = S.growth(rows)
    assert [(x["planner"], x["batch"]) for x in g] == [(p, B) for p in S.PLANNERS for B in (1, 3)]
    assert all(x["horizon_ratio"] == 2 and x["time_ratio"] > 0 and x["memory_ratio"] > 1 for x in g)
    md = S.to_markdown(rows)
    assert "| T | B | grasp-no-sync | gd |" in md and "saved-for-backward" in md
    assert len(md.strip().splitlines()) == 4 + 4


def test_threads_are_restored():
    before = torch.get_num_threads()
    (r,) = S.scaling(horizons=(2,), batches=(1,), planners=("gd",), threads=1, **TINY)
    assert r["threads"] == 1 and torch.get_num_threads() == before


def test_bad_grid_is_refused():
    with pytest.raises(gv.GraspvizError) as e:
        S.scaling(horizons=(0, 4), **TINY)
    assert "horizons must be integers >= 1" in assert_one_line(e.value)


@needs_cuda
def test_cuda_memory_is_measured_by_the_allocator():
    (r,) = S.scaling(horizons=(8,), batches=(2,), planners=("gd",), device="cuda", **TINY)
    assert r["memory_method"] == "cuda.max_memory_allocated" and r["device"].startswith("cuda")
    assert r["peak_memory_bytes"] > 0 and torch.cuda.is_available()
