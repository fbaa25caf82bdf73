"""Decisions under uncertainty: how likely a reform is to work, what that hinges on, and where it fails.

- :mod:`sim.uncertainty.distributions`: every numeric assumption's declared distribution (and a scenario's
  ``uncertainty:`` section);
- :mod:`sim.uncertainty.draws`: scrambled Sobol draws on quantiles, applied to each scenario;
- :mod:`sim.uncertainty.summary`: per-draw paired differences, the probability of improvement;
- :mod:`sim.uncertainty.drivers`: the share of each difference's variance due to each assumption;
- :mod:`sim.uncertainty.discovery`: PRIM boxes of assumption values in which a reform fails;
- :mod:`sim.uncertainty.stored`: an uncertainty comparison read back from the results store;
- :mod:`sim.uncertainty.commands`, :mod:`sim.uncertainty.critics`: ``compare --uncertainty``, ``discover``
  and ``critics`` on the command line.

The runs themselves are planned by :func:`sim.experiment.plan.plan_uncertainty` and started with
``sim.experiment.compare(..., uncertainty=N)``.
"""
