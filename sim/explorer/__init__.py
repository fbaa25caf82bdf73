"""The explorer: a local web page where a policy team tries a reform and sees its effect in seconds.

``python run_sim.py explore`` serves it (:mod:`sim.explorer.server`). The page (:mod:`sim.explorer.page`,
Solara) only lays out controls and results; what it does is in plain functions testable without a browser:
:mod:`sim.explorer.controls` (the levers and assumptions offered, from the schema), :mod:`sim.explorer.runs`
(building the edited scenario, running and summarising the comparison, saving it as YAML),
:mod:`sim.explorer.stored` (opening a stored experiment) and :mod:`sim.explorer.funnel_view` (one run,
quarter by quarter, on a consortium's funnel plot).
"""
