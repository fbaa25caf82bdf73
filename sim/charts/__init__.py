"""Charts: functions from the experiment store's tidy DataFrames to matplotlib Figures, in one house style.

Every function takes the frames :meth:`sim.experiment.store.ResultStore.load_experiment` returns and
gives back a :class:`matplotlib.figure.Figure` (never touching the model or pyplot's global state), so
they work the same in a notebook, a script and the briefing pack (:mod:`sim.report`).

Example:
    >>> from sim.experiment.store import ResultStore  # doctest: +SKIP
    >>> from sim import charts  # doctest: +SKIP
    >>> data = ResultStore().load_experiment("four-scenarios")  # doctest: +SKIP
    >>> fig = charts.fan_chart(data.metrics, "outcome_mean", **charts.experiment_style(data))  # doctest: +SKIP
    >>> fig.savefig("outcome.png", dpi=300)  # doctest: +SKIP
"""

from sim.charts.data import ChartError, metric_spec
from sim.charts.differences import forest_plot
from sim.charts.distributions import quality_distribution
from sim.charts.funnel import funnel_plot
from sim.charts.money import money_chart, money_table
from sim.charts.sensitivity import sensitivity_chart, sweep_chart
from sim.charts.style import Provenance, experiment_style, scenario_colours
from sim.charts.timeseries import constant, fan_chart, governance_chart

__all__ = [
    "ChartError",
    "Provenance",
    "constant",
    "experiment_style",
    "fan_chart",
    "forest_plot",
    "funnel_plot",
    "governance_chart",
    "metric_spec",
    "money_chart",
    "money_table",
    "quality_distribution",
    "scenario_colours",
    "sensitivity_chart",
    "sweep_chart",
]
