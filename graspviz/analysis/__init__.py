"""The analysis layer: what is computed from planners and worlds together.

execute (open loop in the simulator, where the model lies), mpc (the one receding-horizon loop),
evaluate / tuning / report (the comparison benchmark), landscape, race, scaling and micro (speed), runs
(fork and replay of registered worlds' runs) and views (what the explorer's plan view shows).
"""
