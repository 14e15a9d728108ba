"""Simulator worlds: ground truth from a physics simulator, planning on a learned model.

- ``pointmaze``: gymnasium-robotics ``PointMaze_UMaze-v3`` (MuJoCo).
- ``pusht``: gym-pusht ``gym_pusht/PushT-v0`` (pymunk), state observations.
- ``wall_pixels``: the analytic DotWall rendered to 64x64 images, planned in a learned latent space.
- ``wall_tokens``: the DotWall with frame-skip 5, planned on the patch tokens of a frozen learned encoder (DINO-WM style).
- ``pusht_pixels``: Push-T from gym-pusht's 64x64 frames, planned on patch tokens the same way.

Simulators are imported lazily, on first use, so ``import graspviz`` stays light.
"""

from .pointmaze import PointMaze
from .pusht import PushT
from .pusht_pixels import PushTPixels
from .wall_pixels import WallPixels
from .wall_tokens import WallTokens

__all__ = ["PointMaze", "PushT", "PushTPixels", "WallPixels", "WallTokens"]
