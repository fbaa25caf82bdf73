"""The levers: the board's policy choices (delegation, oversight, challenge, contract actions, market entry,
QOF, the quality premium, contracts, patient choice, finance)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from sim.params.fields import Section, choice, param


class DelegationMode(StrEnum):
    NONE = "none"
    ALL = "all"
    CONDITIONAL = "conditional"


class PremiumDistribution(StrEnum):
    NONE = "none"  # retained by the consortium, as the real 2013 premium had to be
    PER_HEAD = "per_head"
    CONTRIBUTION = "contribution"
    REVIEW_CAPACITY = "review_capacity"


class ContractModel(StrEnum):
    CURRENT_MIX = "current_mix"
    SINGLE = "single"


class Delegation(Section):
    mode: DelegationMode = choice(
        DelegationMode.NONE,
        "Who reviews and challenges practices: the board remotely (none), every consortium (all), "
        "or consortia that pass a yearly authorisation assessment (conditional).",
    )
    authorisation_threshold: float = param(
        0.55, 0.0, 1.0, "score",
        "Minimum readiness score (mean of leadership skill and willingness, as assessed) for authorisation.",
    )
    assessment_noise_sd: float = param(
        0.1, 0.0, 0.5, "score", "Error in the board's assessment of a consortium's readiness."
    )
    withdraw_on_deficit: bool = Field(
        True, description="Withdraw delegation at the yearly review from a consortium that overspent.",
        json_schema_extra={"unit": "flag", "source": "lever"},
    )
    review_share_of_allowance: float = param(
        0.03, 0.0, 0.2, "share",
        "Share of the consortium's running-cost allowance spent on reviewing practices.",
    )
    cost_per_review_gbp: float = param(
        6000.0, 1000.0, 30000.0, "GBP", "Cost of one practice review with a challenge conversation."
    )


class BoardOversight(Section):
    reviews_per_million_per_quarter: float = param(
        3.0, 0.0, 50.0, "reviews per million patients per quarter",
        "Board (area team) review capacity where it has not delegated.",
    )
    measurement_noise_multiplier: float = param(
        2.0, 1.0, 5.0, "ratio",
        "How much noisier the board's remote view of a practice is than a local peer's.",
    )
    credibility: float = param(
        0.3, 0.0, 1.0, "score", "The board's credibility with practices in a challenge conversation."
    )
    skill: float = param(
        0.5, 0.0, 1.0, "score",
        "Skill the board's remote reviewers bring to a challenge conversation (they do not learn on the job "
        "in the model, and never avoid a review).",
    )


class PeerChallenge(Section):
    enabled: bool = Field(
        True, description="Whether reviewers challenge funnel-plot outliers at all.",
        json_schema_extra={"unit": "flag", "source": "lever"},
    )
    outlier_z: float = param(
        2.0, 1.0, 4.0, "standard errors",
        "Funnel-plot limit beyond which a practice is an outlier (about 2 = warning, 3 = alarm).",
        "Spiegelhalter, Stat Med 2005",
    )
    escalate_after: int = param(
        4, 1, 12, "challenges", "Challenges of a practice that stays an outlier before escalation to the board."
    )


class ContractActions(Section):
    remedial_notices: bool = Field(
        True, description="Whether the board issues remedial notices to escalated or persistently poor practices.",
        json_schema_extra={"unit": "flag", "source": "lever"},
    )
    terminate_after_notices: int = param(
        3, 1, 10, "notices", "Remedial notices without improvement before the board terminates the contract."
    )
    confirm_below_quantile: float = param(
        0.05, 0.0, 1.0, "quantile of practice quality",
        "The board acts on an escalation (notice or termination) only if its own assessment of the practice's "
        "care places it below this quantile of all practices' quality (1 = act on every escalation).",
        "assumption: CQC rated about 2-4% of practices inadequate; real terminations were rare",
    )
    assessment_noise_sd: float = param(
        0.02, 0.0, 0.2, "share of patients", "Error of the board's own assessment of a practice's quality."
    )
    notices_lapse: bool = Field(
        True, description="Remedial notices lapse after a financial year in which the practice was not escalated.",
        json_schema_extra={"unit": "flag", "source": "lever"},
    )


class MarketEntry(Section):
    barriers: float = param(
        0.85, 0.0, 1.0, "share",
        "Barriers to new providers: 0 = none, 1 = closed. Scales procurement of new APMS providers.",
    )
    entry_rate_per_year: float = param(
        0.01, 0.0, 0.1, "entrants per practice per year at zero barriers",
        "Rate at which the board procures new providers where barriers are absent.",
    )
    entrant_list_share: float = param(
        0.03, 0.0, 0.2, "share",
        "Share of a consortium's patients of its worst practices that a new entrant takes on.",
    )


class QOF(Section):
    points_max: float = param(
        1000, 0, 2000, "points", "Maximum QOF points.", "BMA, revision of the GMS contract, Feb 2006"
    )
    point_value_gbp: float = param(
        126.77, 0.0, 400.0, "GBP per point for an average practice",
        "Value of a QOF point to a practice of average list size.", "Gillam, AHRQ commentary, Mar 2011"
    )
    outcome_weight: float = param(
        0.0, 0.0, 1.0, "share of points",
        "Share of QOF points paid on risk-adjusted health outcomes (the rest on recorded processes).",
    )
    phase_in_years: float = param(
        3, 0, 10, "years", "Years over which the outcome weight is phased in linearly from zero."
    )
    lower_threshold: float = param(
        0.40, 0.0, 1.0, "share of patients", "Achievement below which an indicator earns no points.",
        "gpcontract.co.uk; Lester, QOF factor",
    )
    upper_threshold: float = param(
        0.90, 0.0, 1.0, "share of patients", "Achievement at which an indicator earns all its points.",
        "gpcontract.co.uk; Lester, QOF factor",
    )
    outcome_band_low: float = param(
        1.0, 0.3, 1.5, "ratio observed/expected",
        "Risk-adjusted admission ratio at or below which the outcome indicators earn all their points.",
    )
    outcome_band_high: float = param(
        1.5, 1.0, 3.0, "ratio observed/expected",
        "Risk-adjusted admission ratio at or above which the outcome indicators earn nothing.",
    )


class PremiumTarget(StrEnum):
    OUTCOME = "outcome"
    PRESCRIBING = "prescribing"


class QualityPremium(Section):
    per_head_gbp: float = param(
        0.0, 0.0, 50.0, "GBP per person per year",
        "Quality premium paid to a consortium that meets its criteria (0 = no premium).",
        "Pulse 2012-13; GPonline 1165220 (max GBP 5 in 2013/14)",
    )
    target: PremiumTarget = choice(
        PremiumTarget.OUTCOME, "The measure the premium rewards: admissions (outcome) or prescribing cost."
    )
    required_improvement: float = param(
        0.02, 0.0, 0.3, "share per year",
        "Relative improvement in the target measure against the year before needed to earn the premium.",
    )
    distribution: PremiumDistribution = choice(
        PremiumDistribution.NONE,
        "What the consortium does with the premium: keep it unspent (none), pay practices per head (each "
        "member's own gain diluted by its share of the consortium), pay by contribution to the improvement "
        "(paid for its own gain), or buy more review capacity (only a consortium holding the delegated review "
        "role can; elsewhere the money stays unspent). Whatever is done with it, the prospect of the premium "
        "lets the lead press members (premium.peer_internalisation).",
    )


class Contracts(Section):
    model: ContractModel = choice(
        ContractModel.CURRENT_MIX, "Today's GMS/PMS/APMS mix, or convergence to a single contract."
    )
    convergence_years: float = param(
        5, 0.25, 20, "years", "Years over which funding per head converges to the single rate."
    )
    gms_funding_per_head_gbp: float = param(
        70.0, 30.0, 150.0, "GBP per patient per year",
        "Core GMS funding per registered patient (global sum with MPIG).",
        "derived: QOF about 20% of income (Guthrie 2006; Roland & Campbell 2014)",
    )
    pms_funding_per_head_gbp: float = param(
        78.0, 30.0, 150.0, "GBP per patient per year", "Core PMS funding per registered patient."
    )
    apms_funding_per_head_gbp: float = param(
        74.0, 30.0, 150.0, "GBP per patient per year", "Core APMS funding per registered patient."
    )


class PatientChoice(Section):
    switching_rate_per_year: float = param(
        0.02, 0.0, 0.2, "share of patients per year", "Patients who change practice within their consortium."
    )
    quality_sensitivity: float = param(
        0.157, 0.0, 1.0, "log list share per SD of quality",
        "How much larger a practice's list is, at equilibrium, per SD of quality above its consortium's mean: "
        "patients who move choose practices in proportion to their other attractions (place, size) times "
        "exp(this x z), so lists settle where quality puts them instead of drifting for ever.",
        "Santos, Gravelle & Propper, Economic Journal 2017;127:445 (1 SD of QOF clinical quality: a list about "
        "17% larger; ln 1.17 = 0.157)",
    )


class Finance(Section):
    management_allowance_per_head_gbp: float = param(
        25.0, 0.0, 60.0, "GBP per person per year", "Consortium running-cost allowance.", "Pulse 2012"
    )
    acsc_cost_per_admission_gbp: float = param(
        1850.0, 500.0, 5000.0, "GBP per admission",
        "Cost of an emergency admission for an ambulatory-care-sensitive condition.",
        "derived: King's Fund 2012 (GBP 1.42bn a year over ~14.5 admissions per 1,000 in 53m people)",
    )
    budget_headroom: float = param(
        0.01, -0.05, 0.1, "share",
        "Consortium commissioning allocation above its baseline spend on admissions and prescribing.",
    )


class Levers(Section):
    """The board's policy choices."""

    delegation: Delegation = Delegation()
    board_oversight: BoardOversight = BoardOversight()
    peer_challenge: PeerChallenge = PeerChallenge()
    contract_actions: ContractActions = ContractActions()
    market_entry: MarketEntry = MarketEntry()
    qof: QOF = QOF()
    quality_premium: QualityPremium = QualityPremium()
    contracts: Contracts = Contracts()
    patient_choice: PatientChoice = PatientChoice()
    finance: Finance = Finance()
