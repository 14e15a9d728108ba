"""fig_bench: the comparison benchmark's figure (pure; result rows in, Plotly figure out)."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest

from graspviz.plotting.bench import SUCCESS_AXIS, TIME_AXIS, bench_series, fig_bench, series_name
from graspviz.plotting.theme import PLANNER_COLORS


def _row(planner, label, T, k, n, t, mpc=None, world="wall"):
    from graspviz.analysis.evaluate import wilson
    lo, hi = wilson(k, n)
    return dict(world=world, planner=planner, label=label, horizon=T, trials=n, successes=k, success_rate=k / n,
                ci_low=lo, ci_high=hi, median_time_to_success_s=t, mpc=mpc)


ROWS = [_row("grasp", "GRASP", 40, 60, 100, 0.5), _row("grasp", "GRASP", 20, 90, 100, 0.2),
        _row("cem", "CEM", 20, 80, 100, 2.0), _row("cem", "CEM", 40, 0, 100, None),
        _row("grasp-no-sync", "GRASP (no-sync)", 20, 50, 100, 0.3)]


def test_one_coloured_series_per_planner_with_ci_and_median_time():
    fig = fig_bench(ROWS)
    assert isinstance(fig, go.Figure)
    legend = [t for t in fig.data if t.showlegend is not False]
    assert [t.name for t in legend] == ["GRASP", "CEM", "GRASP (no-sync)"]
    assert len(fig.data) == 6  # success + time per series
    for t in fig.data:
        planner = {"GRASP": "grasp", "CEM": "cem", "GRASP (no-sync)": "grasp-no-sync"}[t.legendgroup]
        assert t.line.color == PLANNER_COLORS[planner]
    grasp_s, grasp_t = fig.data[0], fig.data[1]
    assert list(grasp_s.y) == [90.0, 60.0]  # horizons ascending
    r20 = ROWS[1]
    assert grasp_s.error_y.array[0] == pytest.approx(100 * (r20["ci_high"] - r20["success_rate"]))
    assert grasp_s.error_y.arrayminus[0] == pytest.approx(100 * (r20["success_rate"] - r20["ci_low"]))
    assert list(grasp_t.y) == [0.2, 0.5] and grasp_t.yaxis == "y2"
    cem_t = fig.data[3]
    assert cem_t.y[1] is None  # nothing succeeded at T = 40: a gap, not a zero
    assert fig.layout.yaxis.title.text == SUCCESS_AXIS and fig.layout.yaxis2.title.text == TIME_AXIS
    assert fig.layout.yaxis2.type == "log"
    assert list(fig.layout.xaxis.tickvals) == [20, 40]
    xs = [t.x[0] for t in fig.data[::2]]  # markers at one horizon are spread a little, centred on it
    assert len(set(xs)) == 3 and sum(xs) / 3 == pytest.approx(20)
    assert "100 trials per point" in fig.layout.title.text and "open loop" in fig.layout.title.text
    json.loads(fig.to_json())


def test_mpc_rows_are_a_dashed_series_of_their_own():
    rows = ROWS[:2] + [_row("grasp", "GRASP", 20, 95, 100, 0.4, mpc=dict(replan_every=None, replan_steps=None))]
    fig = fig_bench(rows)
    names = [t.name for t in fig.data if t.showlegend is not False]
    assert names == ["GRASP", series_name("GRASP", True)] == ["GRASP", "GRASP (MPC)"]
    assert fig.data[0].line.dash == "solid" and fig.data[2].line.dash == "dash"
    assert fig.data[0].line.color == fig.data[2].line.color == PLANNER_COLORS["grasp"]
    assert "open loop and MPC" in fig.layout.title.text
    odd = [dict(r, planner="my-planner", label="Mine") for r in rows] + [ROWS[2]]  # not in the palette
    fig = fig_bench(odd)
    assert fig.data[0].line.color == fig.data[2].line.color != fig.data[4].line.color  # both modes: one colour
    s = bench_series(rows)
    assert [(x["planner"], x["mpc"], x["horizons"]) for x in s] == [("grasp", False, [20, 40]), ("grasp", True, [20])]


def test_several_worlds_name_the_world_and_empty_rows_say_so():
    fig = fig_bench([_row("gd", "GD shooting", 10, 1, 2, 0.1, world="hills"), _row("gd", "GD shooting", 10, 2, 2, 0.1)])
    assert [t.name for t in fig.data if t.showlegend is not False] == ["hills: GD shooting", "wall: GD shooting"]
    empty = fig_bench([])
    assert "no benchmark rows" in empty.layout.annotations[0].text
    assert fig_bench(ROWS, title="custom").layout.title.text == "custom"


def test_real_rows_from_the_benchmark():
    from graspviz.analysis import evaluate as E
    from graspviz.analysis.report import to_json
    rows = E.evaluate("wall", ["cem", "gd"], [4, 6], 2, progress=False, check_every=1,
                      settings={"cem": dict(steps=1, samples=8, elites=2), "gd": dict(steps=2)})
    fig = fig_bench(json.loads(to_json(rows)))  # as read back from a results file
    assert [t.name for t in fig.data if t.showlegend is not False] == ["CEM", "GD shooting"]
    assert list(fig.data[0].y) == [100 * r["success_rate"] for r in rows if r["planner"] == "cem"]


def test_fig_scaling_draws_one_line_per_planner_and_batch():
    from graspviz.plotting.bench import fig_scaling
    rows = [dict(planner=p, batch=B, horizon=T, time_per_iter_ms=T * (1 if p == "gd" else 0.1) * B,
                 peak_memory_bytes=T * B * 1024, device="cpu")
            for p in ("grasp-no-sync", "gd") for B in (1, 16) for T in (8, 16, 32)]
    fig = fig_scaling(rows)
    time_traces = [t for t in fig.data if t.xaxis in (None, "x")]
    assert sorted(t.name for t in time_traces) == ["gd, B=1", "gd, B=16", "grasp-no-sync, B=1", "grasp-no-sync, B=16"]
    gd16 = next(t for t in time_traces if t.name == "gd, B=16")
    assert list(gd16.x) == [8, 16, 32] and list(gd16.y) == [128, 256, 512] and gd16.line.dash == "dash"
    assert len(fig.data) == 8 and fig.layout.xaxis.type == "log"
    assert "no scaling rows" in fig_scaling([]).layout.annotations[0].text
