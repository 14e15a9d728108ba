"""Metric names, defined once. Figures, the app, the CLI and tests import these constants."""

LOSS_TOTAL = "loss/total"
LOSS_DYNAMICS = "loss/dynamics"
LOSS_GOAL = "loss/goal"
LOSS_SHOOTING = "loss/shooting"
GAP_MEAN = "gap/mean"
GAP_MAX = "gap/max"
NOISE_SIGMA = "noise/sigma"
GOAL_WEIGHT = "goal/weight"
GOAL_DISTANCE = "goal/distance"
TIME_STEP_MS = "time/step_ms"
TIME_WALL_S = "time/wall_s"
SYNC = "sync"

LOSS_KEYS = (LOSS_TOTAL, LOSS_DYNAMICS, LOSS_GOAL, LOSS_SHOOTING)
