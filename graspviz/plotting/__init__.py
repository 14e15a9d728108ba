"""Pure Plotly figure builders: History / Snapshot / plain dicts in, ``go.Figure`` out (no Panel, torch or I/O)."""

from .adversarial import fig_adversarial
from .analysis import fig_landscape, fig_race
from .diagnostics import fig_gap, fig_losses, fig_schedules
from .plan import fig_plan
from .theme import PLANNER_COLORS, metric_name, planner_color, problem_name
from .trajectories import fig_trajectories
from .verdicts import fig_model_error, fig_sweep

__all__ = ["fig_plan", "fig_gap", "fig_losses", "fig_schedules", "fig_landscape", "fig_race", "fig_model_error",
           "fig_sweep", "fig_adversarial", "fig_trajectories", "PLANNER_COLORS",
           "planner_color", "metric_name", "problem_name"]
