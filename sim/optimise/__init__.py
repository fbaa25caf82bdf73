"""Incentive design: a many-objective search over a scenario's levers, on paired runs, stored and resumable.

By job: :mod:`~sim.optimise.spec` (levers, objectives, constraints, robustness: parsed and checked),
:mod:`~sim.optimise.search` (the plan and the ask-and-tell driver the run loop calls),
:mod:`~sim.optimise.measures` (paired differences from BASE, made robust over assumption draws),
:mod:`~sim.optimise.front` (a stored search read back: every trial judged, the Pareto front),
:mod:`~sim.optimise.api` (from Python: :meth:`sim.experiment.Session.optimise`) and
:mod:`~sim.optimise.commands` (``run_sim.py optimise``).
"""
