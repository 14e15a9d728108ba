"""``pusht_pixels``: gym-pusht's frames without the goal, the RGB TokenWM with its readout head, a tiny deterministic
training run and the shipped model's checks. CI never trains the shipped model: training here uses a few episodes
and steps in a temporary assets folder."""

import numpy as np
import pytest
import torch

from graspviz.worlds import get_world, learned, train
from graspviz.worlds.sims import pusht_pixels as PP

NAME = "pusht_pixels_wm"


pytestmark = pytest.mark.usefixtures("one_thread")  # (tests/conftest.py)


@pytest.fixture(scope="module")
def world():
    return get_world("pusht_pixels")


def _near(frame, xy, r=3):
    """The frame's (3, 64, 64) pixels within ``r`` of a position in env pixels (row = y, column = x)."""
    c, rr = int(xy[0] / 8), int(xy[1] / 8)
    return frame[:, max(rr - r, 0):rr + r + 1, max(c - r, 0):c + r + 1]


def test_frames_show_agent_and_block_but_never_the_goal(world):
    s = np.array([[100.0, 100.0, 330.0, 330.0, 0.5], [400.0, 120.0, 150.0, 380.0, -1.0]])
    f = world.frames(s)
    bg = world.background()
    assert f.shape == (2, 3, 64, 64) and f.dtype == np.float32 and 0 <= f.min() and f.max() <= 1
    for frame, st in zip(f, s):
        assert np.abs(_near(frame, st[:2]) - _near(bg, st[:2])).max() > 0.3  # the agent is drawn where it is
        assert np.abs(_near(frame, st[2:4]) - _near(bg, st[2:4])).max() > 0.3  # and the block
        green = (frame[1] > frame[0] + 0.15) & (frame[1] > frame[2] + 0.15)  # gym-pusht's LightGreen goal outline
        assert not green.any()
    assert not np.allclose(f[0], f[1])
    np.testing.assert_allclose(world.frames(s[:1])[0], f[0])  # a frame depends on the state alone
    img = world.render(s[0])
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8


def test_readout_target_round_trips():
    s = np.array([[10.0, 500.0, 256.0, 3.0, 3.0], [0.0, 0.0, 512.0, 512.0, -2.5]])
    np.testing.assert_allclose(PP.from_readout(PP.readout_target(s)), s, atol=1e-9)


def test_rgb_token_model_shapes_readout_and_action_scaling():
    torch.manual_seed(0)
    m = learned.TokenWM(dim=4, channels=8, hidden=8, history=3, channels_in=3, readout=6, action_low=0.0,
                        action_high=512.0)
    z = m.encode(torch.rand(2, 3, 64, 64))
    assert z.shape == (2, 256) and m.decode(z).shape == (2, 3, 64, 64) and m.decode_logits(z).shape == (2, 4, 64, 64)
    assert m.read(z).shape == (2, 6)
    assert m.hparams["channels_in"] == 3 and m.hparams["readout"] == 6
    # actions in [0, 512] reach the predictor as [-1, 1]: the same as a [-1, 1] model given the mapped action
    ref = learned.TokenWM(dim=4, channels=8, hidden=8, history=3, channels_in=3, readout=6, action_low=-1.0,
                          action_high=1.0)
    ref.load_state_dict(m.state_dict())
    win, a = torch.randn(3, 3, 256), torch.tensor([[0.0, 512.0], [256.0, 128.0], [512.0, 0.0]])
    torch.testing.assert_close(m.step(win, a), ref.step(win, a / 256 - 1))
    assert not torch.allclose(m.step(win, a), ref.step(win, a))
    # the Wall's model keeps its manifest entry: no new hyper-parameters, and no readout head
    wall = learned.TokenWM()
    assert "channels_in" not in wall.hparams and wall.readout is None


def test_train_smoke_is_deterministic_and_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("GRASPVIZ_ASSETS", str(tmp_path))
    data = train.collect("pusht_pixels", 2, seed=1, length=4, progress=False)
    assert data["states"].shape == (2, 5, 5) and data["actions"].shape == (2, 4, 2)
    entry = train.train("pusht_pixels", data=data, steps=4, seed=0, progress=False, eval_episodes=2)
    assert entry["name"] == NAME and entry["sha256"] == learned.sha256(learned.model_path(NAME))
    acc = entry["accuracy"]
    assert {"one_step_error", "10_step_error", "10_step_angle_error", "reconstruction_error"} <= set(acc)
    m = learned.load_model(NAME)
    assert (m.state_dim, m.action_dim, m.history) == (1024, 2, 3)
    a, _, _ = train.train_tokens("pusht_pixels", data, 4, 0, progress=False)
    b, _, _ = train.train_tokens("pusht_pixels", data, 5, 0, progress=False)  # stage 1 is the same 2 steps
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]) == (not k.startswith(("pred.", "readout."))), k
    again = train.train("pusht_pixels", data=data, steps=4, seed=0, progress=False, eval_episodes=2)
    assert again["sha256"] == entry["sha256"]  # deterministic


# -- the shipped model ---------------------------------------------------------------------------
def test_shipped_model_and_manifest(world):
    if not learned.model_path(NAME).exists():
        pytest.fail(f"{learned.model_path(NAME)} is missing: run `graspviz train --world pusht_pixels`")
    entry = learned.read_manifest()["models"][NAME]
    assert entry["world"] == "pusht_pixels" and entry["architecture"]["class"] == "TokenWM"
    assert learned.model_path(NAME).stat().st_size == entry["bytes"] < 25_000_000
    assert entry["command"].startswith("graspviz train --world pusht_pixels")
    m = world.model()
    assert (m.state_dim, m.history) == (world.state_dim, 3)
    # the readout head reads positions back from the tokens: coarsely (the manifest's reconstruction error is
    # about 66 px, see the README), but far better than a guess of the arena's centre
    rng = np.random.default_rng(5)
    s = np.stack([world.random_start(rng) for _ in range(12)])
    err = world.distance(world.to_true(world.to_planning(s)), s).mean()
    guess = world.distance(np.full_like(s, 256.0), s).mean()
    assert err < 0.6 * guess, (err, guess)
    assert entry["accuracy"]["reconstruction_error"] < 0.6 * guess
