"""The assumptions: uncertain behaviour and context (practices, recording, prescribing, outcomes,
leadership, challenge, the premium's peer pressure, exogenous trends, the starting population)."""

from __future__ import annotations

from pydantic import Field

from sim.params.fields import Section, param


class PracticeBehaviour(Section):
    autonomy_mean: float = param(
        0.5, 0.0, 1.0, "score", "Mean resistance of practices to scrutiny (GP autonomy culture).",
        plausible=(0.25, 0.75),
        plausible_source="assumption: no measure of GPs' resistance to peer review exists; from a culture that "
                         "mostly accepts review (0.25) to one that mostly resists it (0.75)",
    )
    autonomy_sd: float = param(0.15, 0.0, 0.5, "score", "Spread of autonomy across practices.")
    motivation_mean: float = param(
        0.6, 0.0, 1.0, "score", "Mean intrinsic motivation to improve care, unpaid.",
        plausible=(0.4, 0.8), plausible_source="assumption: unmeasured; +/- 0.2 around the default",
    )
    capacity_mean: float = param(
        0.5, 0.05, 1.0, "share of time", "Mean discretionary effort a practice can redirect each quarter."
    )
    incentive_responsiveness: float = param(
        1.0, 0.0, 3.0, "multiplier", "How strongly effort follows what is paid, relative to motivation."
    )
    outcome_attribution: float = param(
        1.0, 0.0, 2.0, "multiplier",
        "How far practices believe their own effort moves outcome payments (noise, case mix and "
        "hospitals dilute the line of sight).",
    )
    process_care_link: float = param(
        0.8, 0.0, 1.0, "share",
        "How far process payments reward genuine improvement (the rest can be earned by recording alone).",
        "assumption: QOF's process payments pay mostly for real care (intermediate outcomes), so QOF raises "
        "improvement effort a little despite the pull of recording",
    )
    gaming_propensity: float = param(
        1.0, 0.0, 2.0, "multiplier",
        "Attractiveness of recording and exception-reporting effort per pound of process payment.",
    )
    peer_pressure_sensitivity: float = param(
        3.68, 0.0, 10.0, "multiplier",
        "Weight of recent successful challenge in the effort decision.",
        "calibrated to audit_feedback_rr and peer_comparison_prescribing (Jamtvedt et al via Foy 2005; Hallsworth et "
        "al, Lancet 2016)",
    )
    remedial_sensitivity: float = param(
        2.0, 0.0, 5.0, "multiplier", "Weight of a remedial notice in the effort decision."
    )
    planning_horizon_quarters: float = param(
        4, 1, 12, "quarters",
        "How far ahead a practice counts what a unit of effort earns (QOF and the premium pay once a year).",
    )
    money_scale_gbp: float = param(
        49.91, 1.0, 200.0, "GBP per patient per year",
        "Expected marginal payment (per registered patient a year, for a unit of effort) that weighs in the "
        "effort choice as much as an attraction of 1 (routine work): the exchange rate between money and "
        "motivation.",
        "calibrated to the 2004 and 2010 QOF's pull on recording and improvement (qof_achievement_2004/2005/2006, "
        "qof_first_year_gain)",
    )
    motivation_sd: float = param(0.15, 0.0, 0.5, "score", "Spread of intrinsic motivation across practices.")
    capacity_sd: float = param(
        0.2066, 0.0, 0.5, "share of time", "Spread of discretionary capacity across practices.",
        "calibrated to qof_points_sd, qof_points_p1 and qof_share_below_90 (Ashworth et al 2013; HSCIC)",
    )
    responsiveness_sd: float = param(
        0.4739, 0.0, 2.0, "log SD",
        "Spread across practices of how far they chase payments (a log-normal factor with mean 1 on "
        "incentive_responsiveness): some practices ignore QOF and sit in the long lower tail of its points.",
        "calibrated to qof_points_sd and qof_points_p1_2009 (Ashworth et al, BJGP 2013)",
    )
    motivation_recovery: float = param(
        0.05, 0.0, 0.5, "share per quarter",
        "Share of the gap to a practice's own motivation that resentment after a failed challenge loses each "
        "quarter (goodwill returns unless challenges keep failing).",
    )
    drawings_rate: float = param(
        0.5, 0.0, 1.0, "share per quarter",
        "Share of reserves above working capital that partners draw out each quarter as income: practices are "
        "partnerships whose profit is the partners' pay, so reserves do not pile up.",
        "assumption: GP partners' income is the practice's profit (NHS IC, GP earnings and expenses)",
    )
    working_capital_quarters: float = param(
        1.0, 0.0, 8.0, "quarters of income", "Reserves partners keep in the practice before drawing profit."
    )
    effort_adjustment_rate: float = param(
        0.35, 0.01, 1.0, "share per quarter", "How fast effort moves towards its new target."
    )
    improvement_efficiency: float = param(
        0.4, 0.0, 0.5, "per quarter",
        "Quality gained per unit of improvement effort, times the headroom (1 - q).",
        "assumption: fast enough for a successful challenge to move care within a year (checked against "
        "audit_feedback_rr) and for QOF's first-year gain to be mostly recording (checked: outcome_year1)",
    )
    quality_decay: float = param(
        0.08, 0.0, 0.2, "per quarter",
        "Erosion of quality towards the floor without effort.",
        "assumption: with improvement_efficiency, an untended floor about 0.2 below today's quality",
    )
    quality_shock_sd: float = param(0.01, 0.0, 0.1, "share", "Quarterly random shock to latent quality.")
    failed_challenge_goodwill_loss: float = param(
        0.05, 0.0, 0.5, "score", "Fall in motivation after a failed challenge (resentment)."
    )
    cost_adjustment_rate: float = param(
        0.1, 0.0, 0.5, "share per quarter", "How fast a loss-making practice cuts costs towards its income."
    )
    closure_after_quarters: int = param(
        8, 1, 20, "quarters", "Consecutive quarters of negative reserves after which a practice closes."
    )


class Recording(Section):
    recording_efficiency: float = param(
        3.0, 0.0, 5.0, "per quarter",
        "Recording stock gained per unit of recording effort (times 1 - stock).",
        "assumption: recording systems (templates, recall) were built within a year of April 2004; with the fitted "
        "yield and decay it reproduces qof_achievement_2004 and qof_achievement_2005",
    )
    recording_decay: float = param(
        0.07433, 0.0, 0.5, "per quarter",
        "Decay of recording stock without effort.",
        "calibrated to qof_achievement_2004/2005/2006 and qof_first_year_gain (IC 2005-2007; Kontopantelis 2013)",
    )
    recording_yield: float = param(
        0.2306, 0.0, 0.5, "share of patients",
        "Recorded achievement a full recording stock adds without any change in care.",
        "calibrated to qof_first_year_gain, qof_achievement_2004/2005/2006, qof_achievement_median_2004 (Kontopantelis"
        " 2013; IC 2005-2007; Doran 2006) and qof_achievement_2010",
    )
    exception_base: float = param(
        0.04061, 0.0, 0.2, "share of patients",
        "Mean exception reporting with no gaming effort (clinical and habitual, spread by exception_propensity_sd).",
        "calibrated to exception_rate and exception_rate_practice_2005 (IC PUB02057; Doran et al, NEJM 2008)",
    )
    exception_gaming: float = param(
        0.01862, 0.0, 0.3, "share of patients",
        "Extra exception reporting at full recording stock.",
        "calibrated to exception_rate (IC official statistics PUB02057; Pulse 2011)",
    )
    indicator_spread: float = param(
        0.4648, 0.0, 2.0, "log SD",
        "Spread of a practice's indicators about its mean, on the log of the shortfall from full achievement "
        "(so a practice near 100% has every indicator near it and full points are reachable).",
        "calibrated to qof_share_at_max, qof_share_below_90 and qof_points_sd (HSCIC 2010/11-2012/13; Ashworth et al "
        "2013)",
    )
    exception_propensity_sd: float = param(
        0.5281, 0.0, 1.5, "log SD",
        "Spread across practices of their propensity to exception-report for clinical and habitual reasons "
        "(log-normal with mean exception_base).",
        "calibrated to exception_rate_practice_2005 (Doran et al, NEJM 2008: IQR 4.0-6.9%) and "
        "exception_rate_p95_2011 (HSCIC: 10.1%)",
    )
    excepted_failing_share: float = param(
        0.223, 0.0, 1.0, "share",
        "Share of the patients a practice exception-reports who would otherwise have missed the indicator "
        "(1 = only failures are excepted); sets how much exception reporting raises reported achievement.",
        "calibrated to exception_gaming_slope (Doran et al, NEJM 2006: 0.31 points per point)",
    )


class Prescribing(Section):
    cost_per_head_gbp: float = param(
        161.2, 50.0, 400.0, "GBP per registered patient per year",
        "Mean prescribing cost per registered patient at the start (the warranted part is this minus the unwarranted "
        "mean).",
        "calibrated to prescribing_total (NHS IC, Prescriptions dispensed in the community 2000-2010: GBP 8.834bn, GBP"
        " 169 per resident; per registered patient lower by list inflation)",
    )
    unwarranted_mean_gbp: float = param(
        9.0, 0.0, 60.0, "GBP per patient per year",
        "Mean unwarranted prescribing cost per patient at the start (part of the GBP 169).",
        "NAO HC 454 (2007): GBP 200m+ avoidable in four drug groups alone",
    )
    unwarranted_cv: float = param(0.8, 0.0, 3.0, "ratio", "Coefficient of variation of unwarranted cost.")
    area_share: float = param(
        0.3, 0.0, 1.0, "share of variance",
        "Share of the (log) variation in unwarranted prescribing habit that lies between consortia (local "
        "formularies, hospital prescribing, medicines management): the rest is between practices of an area.",
        "assumption: no published decomposition; NAO HC 454 (2007) found low-cost statin shares from 28% to 86% "
        "across PCTs (docs/evidence.md)",
    )
    habit_reversion: float = param(
        0.2, 0.0, 0.5, "per quarter",
        "Drift of unwarranted cost back to a practice's habit without effort.",
        "assumption: checked against peer_comparison_prescribing and collective_premium_prescribing",
    )
    efficiency_effect: float = param(
        0.8, 0.0, 5.0, "per quarter per unit effort",
        "Fall in unwarranted cost per unit of prescribing effort.",
        "assumption: checked against peer_comparison_prescribing and collective_premium_prescribing",
    )
    baseline_effort_attraction: float = param(
        0.15, 0.0, 2.0, "score", "Attraction of prescribing effort with no scrutiny or incentive."
    )
    budget_pressure: float = param(
        0.3, 0.0, 3.0, "score", "Extra attraction of prescribing effort in a delegated consortium in deficit."
    )


class Outcomes(Section):
    acsc_per_1000: float = param(
        13.89, 5.0, 40.0, "admissions per 1000 patients per year",
        "ACSC emergency admission rate per 1,000 registered patients at median deprivation and reference quality.",
        "calibrated to acsc_cost_total (King's Fund 2012: GBP 1.42bn a year at GBP 1,850 an admission); consortium "
        "rates fall inside acsc_rate_range (9 to 22 per 1,000)",
    )
    deprivation_gradient: float = param(
        0.1813, 0.0, 1.5, "log ratio per unit deprivation rank",
        "Admissions gradient with deprivation between practices of an area, quality held equal (the 90th "
        "against the 10th centile of deprivation rank is 0.8 apart).",
        "calibrated to acsc_deprivation_practice (Busby et al 2017, PMC5445441: 1.16, within areas)",
    )
    quality_effect: float = param(
        1.0, 0.0, 4.0, "log ratio per unit quality", "Fall in admissions per unit rise in latent quality."
    )
    lag_quarters: float = param(
        4, 1, 20, "quarters", "Mean lag of outcomes behind changes in quality (exponential smoothing)."
    )
    overdispersion: float = param(
        0.155, 0.0, 0.8, "log SD",
        "Between-practice variation in admissions beyond quality, deprivation and area (case mix, access), "
        "log-normal with mean 1.",
        "calibrated to acsc_between_ccg_share (Santos, Rice & Gravelle, BMJ Open 2020) and "
        "acsc_rate_range",
    )
    area_deprivation_effect: float = param(
        0.07003, 0.0, 1.0, "log ratio per SD of area deprivation",
        "Admissions effect of a consortium's area deprivation beyond the practice-level gradient (hospital "
        "thresholds, social care, community services), log-normal with mean 1.",
        "calibrated to acsc_between_ccg_share (Santos, Rice & Gravelle, BMJ Open 2020) and "
        "acsc_rate_range (King's Fund 2012: 9 to 22 per 1,000 across areas)",
    )
    area_sd: float = param(
        0.07106, 0.0, 0.8, "log SD",
        "Consortium effect on admissions unrelated to deprivation (hospital and service configuration).",
        "calibrated to acsc_between_ccg_share (Santos, Rice & Gravelle, BMJ Open 2020: 41.8% of "
        "the variation between CCGs) and acsc_rate_range",
    )


class Leadership(Section):
    skill_mean: float = param(
        0.5, 0.0, 1.0, "score", "Mean skill of consortium leads in difficult conversations with peers.",
        plausible=(0.2, 0.8),
        plausible_source="assumption: the critics' central doubt (consultation responses, 2010); wide on purpose",
    )
    skill_sd: float = param(0.15, 0.0, 0.5, "score", "Spread of leadership skill.")
    willingness_mean: float = param(
        0.65, 0.0, 1.0, "score", "Mean willingness of leads to take on review and challenge of peers.",
        plausible=(0.3, 0.9),
        plausible_source="assumption: the critics' central doubt (consultation responses, 2010); wide on purpose",
    )
    willingness_sd: float = param(0.15, 0.0, 0.5, "score", "Spread of willingness.")
    credibility_initial: float = param(0.6, 0.0, 1.0, "score", "Leads' credibility with peers at the start.",
                                       plausible=(0.35, 0.85),
                                       plausible_source="assumption: unmeasured; +/- 0.25 around the default")
    credibility_gain: float = param(0.08, 0.0, 0.5, "share", "Credibility gained after a successful challenge.")
    credibility_loss: float = param(0.12, 0.0, 0.5, "share", "Credibility lost after a failed challenge.")
    credibility_recovery: float = param(
        0.05, 0.0, 0.5, "share per quarter",
        "Share of the gap back to the lead's starting credibility recovered each quarter (a failure is "
        "forgotten in time; a lead above it keeps what it earned).",
    )
    skill_learning_per_review: float = param(
        0.004, 0.0, 0.05, "share per review",
        "Share of the gap to full skill a lead closes with each challenge conversation held (learning by "
        "doing; 0 = skill is fixed).",
    )
    avoidance_effect: float = param(
        10.0, 0.0, 30.0, "log-odds per unit",
        "How sharply a lead's willingness decides which difficult conversations happen: the log-odds that a "
        "lead holds a review fall by this per unit of the practice's autonomy above the lead's willingness "
        "(0 = every outlier in capacity is reviewed, whoever it is).",
    )


class Challenge(Section):
    register_share: float = param(
        0.25, 0.05, 1.0, "share of list",
        "Share of a practice's list on the registers QOF achievement is measured over: sets the binomial noise "
        "of achievement in the funnel plots (a small practice's rate is noisier).",
    )
    prescribing_noise_cv_per_1000: float = param(
        0.1, 0.0, 1.0, "share of mean, for 1,000 patients",
        "Sampling noise of prescribing cost per head in the funnel plots for a list of 1,000 (shrinking with the "
        "square root of list size).",
    )
    base_log_odds: float = param(-0.5, -5.0, 5.0, "log-odds", "Log-odds of success of an average challenge.",
                                 plausible=(-1.5, 0.5),
                                 plausible_source="assumption: an average challenge succeeds 18% to 62% of the time")
    skill_effect: float = param(3.0, 0.0, 10.0, "log-odds per unit", "Effect of the reviewer's skill.",
                                plausible=(1.0, 5.0), plausible_source="assumption: unmeasured; wide")
    credibility_effect: float = param(2.0, 0.0, 10.0, "log-odds per unit", "Effect of the reviewer's credibility.")
    autonomy_effect: float = param(3.0, 0.0, 10.0, "log-odds per unit", "Effect of the practice's autonomy.",
                                   plausible=(1.0, 5.0), plausible_source="assumption: unmeasured; wide")
    effect_duration_quarters: float = param(
        4, 1, 20, "quarters", "Mean life of the peer pressure a successful challenge leaves."
    )


class Premium(Section):
    peer_internalisation: float = param(
        16.74, 0.0, 20.0, "multiplier",
        "How much of the premium a member's effort is worth to the consortium a lead of full skill, "
        "willingness and credibility makes a fully receptive member act on (peer pressure: the premium "
        "'used skilfully'); it is scaled by the lead's skill x willingness x credibility and the member's "
        "1 - autonomy, so unwilling leads exert none.",
        "calibrated to collective_premium_prescribing (Balinskaite et al, Clin Infect Dis 2019), read on the "
        "unwarranted part (see docs/validation.md)",
        plausible=(4.0, 20.0),
        plausible_source="calibrated to one prescribing study; whether the same pull carries over to admissions "
                         "is untested, so wide: from a quarter of the fit to the allowed maximum",
    )
    forecast_cv: float = param(
        0.01, 0.0, 0.2, "share of the measure",
        "Uncertainty of a consortium's year-end measure beyond the Poisson noise of admissions (case mix, "
        "hospital coding): it sets how sharply the chance of earning the premium turns with effort.",
    )

class Context(Section):
    """Exogenous trends that no lever moves, shared by every scenario run of a period."""

    population_growth_per_year: float = param(
        0.008, -0.02, 0.05, "share per year",
        "Growth of the registered population: every list grows by this share a year.",
        "ONS mid-year population estimates, England 2011-2015 (about 0.8% a year)",
    )
    merger_rate_per_year: float = param(
        0.012, 0.0, 0.1, "share of practices per year",
        "Practices a year that merge into another practice of their consortium (smaller ones more often).",
        "derived: practices_england 8,245 (2010/11) to practices_2014 7,779 (HSCIC), less openings (18.8 a year) "
        "and closures without merger (18-31 a year, Pulse FOI): about 110 mergers a year (docs/evidence.md)",
    )
    retirement_closure_rate_per_year: float = param(
        0.003, 0.0, 0.05, "share of practices per year",
        "Practices a year that close for reasons other than money or merger (partners retiring, no one to "
        "recruit, a contract ending), smaller ones more often; their patients disperse to neighbours.",
        "derived: practice_closures_no_merger, 18-31 a year of about 8,000 practices (Pulse FOI; docs/evidence.md)",
    )
    secular_quality_trend_per_year: float = param(
        0.0, -0.05, 0.05, "share of patients per year",
        "Improvement in care that happens without any lever (new evidence, guidelines, drugs): raises every "
        "practice's untended quality. Zero in the 2011 scenarios; positive before QOF.",
    )


class Initial(Section):
    """How the starting population is drawn. Independent of the levers, so scenarios share a population."""

    quality_mean: float = param(
        0.729, 0.3, 0.99, "share of patients",
        "Mean latent quality at the start (2010/11 in the shipped scenarios).",
        "calibrated to qof_achievement_2010/qof_achievement_2011 (Pulse; onmedica 2012) with the recording fit",
        plausible=(0.70, 0.76),
        plausible_source="calibrated: +/- 0.03, about the gap between recorded and latent quality the fit leaves open",
    )
    quality_sd: float = param(
        0.0298, 0.0, 0.2, "share of patients", "Spread of latent quality at the start.",
        "calibrated to qof_points_sd, qof_share_below_90 and qof_share_at_max (Ashworth et al 2013; HSCIC)",
    )
    deprivation_quality_gap: float = param(
        0.04, 0.0, 0.2, "share of patients", "Quality gap between the least and most deprived practices."
    )
    qof_in_place: bool = Field(
        True, description="Start from behaviour settled under the 2010 QOF (False: a pre-QOF baseline, 2004).",
        json_schema_extra={"unit": "flag", "source": "assumption"},
    )
    cost_ratio_mean: float = param(
        0.955, 0.8, 1.05, "share of income", "Practice costs as a share of income at the start.",
        plausible=(0.92, 0.99),
        plausible_source="assumption: +/- 0.035 around the default (costs sit close to income because "
                         "partners draw their profit out)",
    )
    cost_ratio_sd: float = param(0.025, 0.0, 0.1, "share of income", "Spread of the cost ratio.")
    fixed_cost_share: float = param(
        0.2, 0.0, 0.8, "share of costs",
        "Share of a practice's costs that does not scale with its list (premises, partners): small practices and "
        "those losing patients are more exposed.",
    )


class Assumptions(Section):
    """Behavioural parameters: uncertain, the natural subjects of sweeps and sensitivity analysis."""

    practice: PracticeBehaviour = PracticeBehaviour()
    recording: Recording = Recording()
    prescribing: Prescribing = Prescribing()
    outcomes: Outcomes = Outcomes()
    leadership: Leadership = Leadership()
    challenge: Challenge = Challenge()
    premium: Premium = Premium()
    context: Context = Context()
    initial: Initial = Initial()
