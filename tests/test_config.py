"""Planner configs: knobs metadata, validation messages, replace / dict round trips, world defaults."""

from __future__ import annotations

import dataclasses
import math

import pytest

import graspviz as gv
from graspviz.core.config import AUTO, Knob, knobs
from graspviz.core.errors import GraspvizError

CONFIGS = [p.Config for p in gv.PLANNERS.values()]
ids = [c.__name__ for c in CONFIGS]


def _numeric(cls):
    return [k for k in knobs(cls) if k.type in (int, float)]


def _range_text(k: Knob) -> str:
    if k.low is not None and k.high is not None:
        return f"in [{k.low}, {k.high}]"
    return f">= {k.low}" if k.low is not None else ""


@pytest.mark.parametrize("cls", CONFIGS, ids=ids)
def test_knobs_cover_every_field_with_help_and_valid_defaults(cls):
    ks = list(knobs(cls))
    assert [k.name for k in ks] == [f.name for f in dataclasses.fields(cls)]
    cfg = cls()
    assert list(knobs(cfg)) == ks  # an instance gives the same knobs
    for k in ks:
        assert isinstance(k.help, str) and k.help.strip(), k.name
        assert k.type in (int, float, bool, str), k.name
        assert getattr(cfg, k.name) == k.default, k.name
        if k.auto:  # an automatic knob: AUTO by default, its old absolute value kept as ``fixed``
            assert k.default is AUTO and (k.type in (int, float) or k.choices) and k.auto.strip(), k.name
            assert isinstance(k.fixed, k.type) and not isinstance(k.fixed, bool), k.name
        value = k.fixed if k.auto else k.default
        assert isinstance(value, k.type), k.name
        if k.low is not None:
            assert value >= k.low, k.name
        if k.high is not None:
            assert value <= k.high and (k.low is None or k.low < k.high), k.name
        if k.type is str:
            assert k.choices and value in k.choices, k.name
        if k.log:
            assert k.type is float and k.low is not None and k.low >= 0, k.name
    assert "steps" in {k.name for k in ks}


@pytest.mark.parametrize("cls", CONFIGS, ids=ids)
def test_configs_are_frozen_and_round_trip_through_dicts(cls):
    cfg = cls()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.steps = 3
    assert cls.from_dict(cfg.to_dict()) == cfg
    changed = cfg.replace(steps=7)
    assert changed.steps == 7 and changed.replace(steps=cfg.steps) == cfg
    assert cls.from_dict(changed.to_dict()) == changed
    assert cls.from_dict({}) == cfg


@pytest.mark.parametrize("cls", CONFIGS, ids=ids)
def test_numeric_knobs_refuse_out_of_range_nan_inf_and_wrong_types(cls):
    for k in _numeric(cls):
        where = f"{cls.__name__}.{k.name}"
        bad = [float("nan"), float("inf"), -float("inf"), "abc", [1], True, "", {}] + ([] if k.auto else [None])
        if k.low is not None:
            bad.append(k.low - 1)
        if k.high is not None:
            bad.append(k.high * 10 + 1)
        if k.type is int:
            bad += [2.5, "3.5"]
        for value in bad:
            with pytest.raises(GraspvizError) as e:
                cls().replace(**{k.name: value})
            msg = str(e.value)
            assert "\n" not in msg, msg
            assert msg.startswith(where + " must be"), msg  # names the field ...
            assert _range_text(k) in msg, msg  # ... and the expected range
            assert "got" in msg, msg


@pytest.mark.parametrize("cls", CONFIGS, ids=ids)
def test_numeric_knobs_accept_numbers_in_range_and_coerce(cls):
    for k in _numeric(cls):
        default = k.fixed if k.auto else k.default
        v = k.high if k.high is not None else default
        base = cls().replace(samples=v) if k.name == "elites" else cls()  # (CEM: elites <= samples)
        got = getattr(base.replace(**{k.name: str(v)}), k.name)  # strings from CLI / widgets
        assert got == v and type(got) is k.type
        if k.type is float:
            got = getattr(cls().replace(**{k.name: int(default)}), k.name)
            assert type(got) is float
        else:
            assert getattr(cls().replace(**{k.name: float(default)}), k.name) == default
        if k.auto:  # "auto" (any case, as typed on the command line) and None mean: derive it at run start
            for value in ("auto", " AUTO ", None):
                assert getattr(cls().replace(**{k.name: value}), k.name) is AUTO


def test_negative_or_nan_rates_noise_and_weights_are_refused():
    for name, value, pattern in [
        ("lr_states", -0.1, r"GraspConfig.lr_states must be in \[0.0, 1000000.0\]; got -0.1"),
        ("lr_actions", math.nan, r"GraspConfig.lr_actions must be a finite number in \[0.0, 1000000.0\]; got nan"),
        ("sigma", -1, r"GraspConfig.sigma must be in \[0.0, 1000000.0\]; got -1"),
        ("gamma", math.inf, r"GraspConfig.gamma must be a finite number in \[0.0, 1000.0\]; got inf"),
        ("lr_sync", -5.0, r"GraspConfig.lr_sync must be in"),
        ("lr_states", "fast", r"GraspConfig.lr_states must be a number in \[0.0, 1000000.0\] or auto; got 'fast'"),
    ]:
        with pytest.raises(GraspvizError, match=pattern):
            gv.make_planner("grasp", **{name: value})
    with pytest.raises(GraspvizError, match=r"GDConfig.lr must be in \[0.0, 1000000.0\]; got -1"):
        gv.make_planner("gd", lr=-1)
    with pytest.raises(GraspvizError, match=r"MPPIConfig.temperature must be a finite number in \[1e-12, 1000000000000.0\]"):
        gv.make_planner("mppi", temperature=float("nan"))


def test_choice_and_bool_knobs():
    with pytest.raises(GraspvizError, match=r"GraspConfig.optimizer must be one of adam, sgd; got 'rmsprop'"):
        gv.make_planner("grasp", optimizer="rmsprop")
    with pytest.raises(GraspvizError, match=r"GraspConfig.sigma_schedule must be one of constant, linear, cosine, exponential"):
        gv.make_planner("grasp", sigma_schedule=3)
    for value, want in [(True, True), (0, False), ("false", False), ("Yes", True), ("off", False)]:
        assert gv.make_planner("grasp", noise=value).config.noise is want
    for value in (2, "maybe", None, 0.5):
        with pytest.raises(GraspvizError, match=r"GraspConfig.sync must be true or false; got"):
            gv.make_planner("grasp", sync=value)


def test_unknown_names_are_refused_with_the_choices():
    with pytest.raises(GraspvizError, match=r"GraspConfig has no setting 'lr'; expected one of: .*lr_actions, lr_states") as e:
        gv.make_planner("grasp", lr=0.1)
    assert "\n" not in str(e.value)
    with pytest.raises(GraspvizError, match="CEMConfig has no setting 'sigma'"):
        gv.PLANNERS["cem"].Config.from_dict({"sigma": 1.0})
    with pytest.raises(GraspvizError, match=r"gd needs a GDConfig or a dict; got GraspConfig"):
        gv.make_planner("gd", gv.make_planner("grasp").config)


def test_make_planner_takes_configs_dicts_and_overrides():
    cfg = gv.make_planner("grasp", sigma=0.5).config
    assert gv.make_planner("grasp", cfg).config == cfg
    assert gv.make_planner("grasp", cfg.to_dict()).config == cfg
    assert gv.make_planner("grasp", cfg, gamma=0.1).config == cfg.replace(gamma=0.1)
    for ablation, switches in gv.ABLATIONS.items():
        c = gv.make_planner(ablation, sigma=0.5).config
        assert c.sigma == 0.5 and all(getattr(c, k) == v for k, v in switches.items())


@pytest.mark.parametrize("world", sorted(gv.WORLDS))
def test_planner_config_applies_the_worlds_suggested_settings(world):
    w = gv.get_world(world)
    for name in gv.PLANNERS:
        cfg = gv.planner_config(name, world)
        for key, value in w.planner_defaults.get(name, {}).items():
            assert getattr(cfg, key) == value, (name, key)
    abl = gv.planner_config("grasp-no-noise", world)
    assert abl.noise is False
    for key, value in w.planner_defaults.get("grasp", {}).items():
        assert getattr(abl, key) == value
    assert gv.planner_config("gd", world, lr=0.123).lr == 0.123
    assert gv.planner_config("gd") == gv.PLANNERS["gd"].Config()
