"""Model-level measures recorded every quarter: one registry, used by the model, the store and the charts.

``kind`` says how a measure is summarised at a horizon: a *level* is read at the last quarter; a *flow*
(money, counts of events) is summed over the last four quarters, giving a yearly figure.
``better`` says which direction is an improvement (for colouring differences), where one is.
``material`` is the smallest difference from the baseline that matters to a decision, in the metric's unit
(money totals: GBP a year for all of England, whatever share of it a run simulates): the briefing pack calls a
smaller effect "no material change" however sure it is, since paired intervals make trivial effects
significant. Overridden per run with ``--material METRIC=DELTA``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class MetricSpec:
    name: str
    label: str
    unit: str
    kind: Literal["level", "flow"]
    description: str
    better: Literal["higher", "lower"] | None = None
    headline: bool = False
    material: float | None = None


def _m(name: str, label: str, unit: str, kind: Literal["level", "flow"], description: str,
       better: Literal["higher", "lower"] | None = None, headline: bool = False,
       material: float | None = None) -> MetricSpec:
    return MetricSpec(name, label, unit, kind, description, better, headline, material)


METRICS: tuple[MetricSpec, ...] = (
    # quality and outcomes
    _m("quality_mean", "Mean clinical quality", "share of patients", "level",
       "List-weighted mean latent quality of long-term-condition care.", "higher", True,
       material=0.005),  # half a percentage point: the least gain worth a reform (critics)
    _m("quality_sd", "Spread of quality (SD)", "share of patients", "level",
       "Standard deviation of latent quality across practices (unwarranted variation).", "lower", True,
       material=0.002),  # 0.2 points, about a twentieth of the spread
    _m("quality_p10", "Quality, 10th percentile", "share of patients", "level",
       "10th percentile of practice quality.", "higher"),
    _m("quality_p90", "Quality, 90th percentile", "share of patients", "level",
       "90th percentile of practice quality.", "higher"),
    _m("achievement_mean", "Mean QOF achievement", "share of points", "level",
       "Mean share of available QOF points achieved (what is paid).", None, True),
    _m("achievement_sd", "Spread of QOF achievement (SD)", "share of points", "level",
       "Standard deviation of QOF achievement across practices."),
    _m("recorded_gap_mean", "Recorded minus true quality", "share of patients", "level",
       "Mean gap between recorded indicator achievement and latent quality: recording and exception "
       "reporting that raise payment but not care.", "lower"),
    _m("exception_rate", "Exception reporting rate", "share of patients", "level",
       "List-weighted mean share of patients exception-reported.", "lower"),
    _m("recording_effort_mean", "Recording effort", "share of time", "level",
       "Mean effort spent on recording and exception reporting.", "lower"),
    _m("improvement_effort_mean", "Improvement effort", "share of time", "level",
       "Mean effort spent on genuine improvement.", "higher"),
    _m("outcome_mean", "Avoidable emergency admissions", "per 1,000 patients a year", "level",
       "List-weighted ACSC emergency admission rate.", "lower", True,
       material=0.1),  # 0.1 per 1,000 a year: about 5,500 admissions a year in England
    _m("outcome_sd", "Spread of admission rates (SD)", "per 1,000 patients a year", "level",
       "Standard deviation of practice ACSC admission rates.", "lower"),
    _m("outcome_p10", "Admissions, 10th percentile", "per 1,000 patients a year", "level",
       "10th percentile of practice ACSC admission rates.", "lower"),
    _m("outcome_p90", "Admissions, 90th percentile", "per 1,000 patients a year", "level",
       "90th percentile of practice ACSC admission rates.", "lower"),
    _m("deprivation_gap", "Deprivation gap in admissions", "per 1,000 patients a year", "level",
       "ACSC rate of the most deprived fifth of practices minus the least deprived fifth.", "lower", True,
       material=0.1),
    _m("deprivation_gap_quality", "Deprivation gap in quality", "share of patients", "level",
       "Quality of the least deprived fifth minus the most deprived fifth.", "lower"),
    _m("funnel_outliers", "Funnel-plot outliers", "practices", "level",
       "Practices beyond the 3-SE limit on admissions against their consortium (overdispersion-adjusted).",
       "lower"),
    # money (flows, GBP per quarter)
    _m("qof_payments_gbp", "QOF payments", "GBP", "flow", "QOF achievement payments (paid at year end).",
       None, True),
    _m("quality_premium_gbp", "Quality premium", "GBP", "flow", "Quality premium paid to consortia."),
    _m("core_funding_gbp", "Core contract funding", "GBP", "flow", "GMS/PMS/APMS or single-contract funding."),
    _m("prescribing_spend_gbp", "Prescribing spend", "GBP", "flow", "Net ingredient cost of prescribing.",
       "lower", True, material=10e6),  # £10m a year for England, about 0.1% of the spend
    _m("prescribing_per_head_gbp", "Prescribing per head", "GBP per patient a year", "level",
       "Annualised prescribing cost per registered patient.", "lower", True, material=0.2),
    _m("unwarranted_prescribing_gbp", "Unwarranted prescribing", "GBP", "flow",
       "The part of prescribing spend above the warranted level.", "lower"),
    _m("acsc_cost_gbp", "Cost of avoidable admissions", "GBP", "flow",
       "Cost of ACSC emergency admissions.", "lower"),
    _m("management_cost_gbp", "Management allowance", "GBP", "flow", "Consortium running-cost allowance."),
    _m("review_cost_gbp", "Review and challenge cost", "GBP", "flow",
       "Cost of practice reviews by consortia and the board (part of management costs for consortia)."),
    _m("total_cost_gbp", "Total cost to the NHS", "GBP", "flow",
       "Core funding + QOF + premium + prescribing + avoidable admissions + management allowance.",
       "lower", True, material=20e6),  # £20m a year for England, about 0.1% of the total
    _m("consortium_balance_gbp", "Consortium balances", "GBP", "level",
       "Sum of consortia's commissioning balances this financial year to date.", "higher"),
    _m("consortia_in_deficit", "Consortia in deficit", "consortia", "level",
       "Consortia whose year-to-date commissioning balance is negative.", "lower"),
    _m("practice_reserves_gbp", "Practice reserves", "GBP", "level", "Sum of practices' reserves.", "higher"),
    _m("partner_drawings_gbp", "Partners' drawings", "GBP", "flow",
       "Profit partners draw from their practices' reserves above working capital (their pay)."),
    # governance activity (flows, counts per quarter)
    _m("reviews", "Practice reviews", "reviews", "flow", "Reviews of outlier practices."),
    _m("successful_challenges", "Successful challenges", "challenges", "flow",
       "Challenges after which the practice accepted the need to change.", "higher"),
    _m("escalations", "Escalations to the board", "practices", "flow",
       "Persistent outliers escalated by consortia to the board."),
    _m("remedial_notices", "Remedial notices", "notices", "flow", "Remedial notices issued by the board."),
    _m("terminations", "Contract terminations", "contracts", "flow", "Contracts terminated by the board."),
    _m("closures", "Practice closures", "practices", "flow",
       "Practices closed for lack of money, or for other reasons (retirement, recruitment) without a merger."),
    _m("mergers", "Practice mergers", "practices", "flow", "Practices that merged into another of their consortium."),
    _m("new_entrants", "New providers", "practices", "flow", "New APMS providers procured by the board."),
    _m("consortia_delegated", "Consortia with delegation", "consortia", "level",
       "Consortia holding the delegated review role this quarter.", None, True),
    _m("lead_credibility_mean", "Leads' credibility", "score", "level",
       "Mean credibility of consortium leads with their peers.", "higher"),
    # population
    _m("practices", "Practices", "practices", "level", "Open practices."),
    _m("patients", "Registered patients", "patients", "level", "Sum of registered lists."),
    _m("single_contract_share", "Funding converged", "share", "level",
       "Progress of convergence to a single contractual and funding model (0 = today's mix, 1 = single)."),
)

METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in METRICS)
METRICS_BY_NAME: dict[str, MetricSpec] = {m.name: m for m in METRICS}
HEADLINE_METRICS: tuple[str, ...] = tuple(m.name for m in METRICS if m.headline)


def metric(name: str) -> MetricSpec:
    """The spec of a metric, or a SimError listing the valid names."""
    from sim.errors import SimError

    try:
        return METRICS_BY_NAME[name]
    except KeyError:
        raise SimError(f"Unknown metric '{name}'. Valid metrics: {', '.join(METRIC_NAMES)}.") from None

#: Headline metrics with a better direction: those a reform can improve (the uncertainty analysis's default).
DIRECTED_HEADLINE_METRICS: tuple[str, ...] = tuple(m for m in HEADLINE_METRICS if METRICS_BY_NAME[m].better)


def material_threshold(name: str, scale: float | None = None, overrides: dict[str, float] | None = None) -> float:
    """The material difference of a metric in stored units (money totals scaled down to the runs' share of
    England); 0 where none is declared, so any sure difference then counts."""
    spec = metric(name)
    value = (overrides or {}).get(name, spec.material)
    if value is None:
        return 0.0
    if spec.unit == "GBP" and scale is not None and 0 < scale < 1:
        return float(value) * scale
    return float(value)
