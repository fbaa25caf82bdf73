"""Validation against published figures and calibration of free parameters (docs/validation.md).

- :mod:`sim.calibration.targets`: the published figures (``calibration_targets.csv``).
- :mod:`sim.calibration.studies`: the small paired experiments the checks read.
- :mod:`sim.calibration.checks`: each check: observation, target, tolerance band.
- :mod:`sim.calibration.validate`: replications, verdicts, the table and chart (``run_sim.py validate``).
- :mod:`sim.calibration.calibrate`: fitting parameters to checks (``run_sim.py calibrate``).
"""
