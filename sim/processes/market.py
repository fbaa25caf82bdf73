"""Market: contract actions, terminations and replacement, new entrants, closures, patient choice, and
the board's yearly delegation review.

Providers leave (terminated by the board, or closing after repeated losses) and new APMS providers
enter; a consortium always keeps at least one open practice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.agents import practice as rules
from sim.grouped import grouped_median
from sim.population import bounded_score
from sim.state import APMS

if TYPE_CHECKING:
    from sim.model import CommissioningModel

FLOWS: tuple[str, ...] = ("remedial_notices", "terminations", "closures", "mergers", "new_entrants")

# This year's block of new providers' traits, one stream each (rows of ``entrant_z``).
ENTRANT_TRAITS: tuple[str, ...] = ("autonomy", "motivation", "capacity")

# Columns a new provider copies from the practice whose area it serves.
_COPIED: tuple[str, ...] = (
    "deprivation", "frailty", "effort_improve", "effort_record", "effort_prescribing", "recording",
    "exception_rate", "exception_propensity", "money_orientation", "recorded_achievement", "achievement",
    "outcome_per_1000", "habit_gbp", "unwarranted_gbp", "cost_per_head_gbp", "measure_last_year",
)


def year_end(model: CommissioningModel) -> None:
    """Contract actions (always the board's), new providers, patient choice; then, the financial year
    closing, the board reviews delegation."""
    ps, cs, lv = model.practices, model.consortia, model.levers
    entrant_z = np.vstack([model.streams.normal(f"market.entrant_{trait}", ps.capacity) for trait in ENTRANT_TRAITS])
    noticed, terminated = model.board.contract_actions(model.streams.normal("market.inspection", ps.capacity))
    model.flows["remedial_notices"] = float(noticed.size)
    terminated = keep_one_per_consortium(model, terminated)
    model.flows["terminations"] = float(terminated.size)
    replace_or_disperse(model, terminated, entrant_z)

    procure_entrants(model, entrant_z)
    merge(model)
    retire(model)
    choice = lv.patient_choice
    rules.patient_choice(ps, ps.n, model.n_consortia, choice.switching_rate_per_year, choice.quality_sensitivity)
    grow_population(model)

    cs.deficit_last_year = cs.balance_ytd_gbp < 0
    noise = model.streams.normal("market.delegation_review", cs.count)
    cs.delegated = model.board.decide_delegation(first=False, noise=noise)


def keep_one_per_consortium(model: CommissioningModel, rows: np.ndarray) -> np.ndarray:
    """Drop from ``rows`` any practice whose closure would leave its consortium with none open."""
    if rows.size == 0:
        return rows
    ps, n = model.practices, model.practices.n
    open_count = np.bincount(ps.consortium[:n], weights=ps.open[:n].astype(float), minlength=model.n_consortia)
    closing = np.bincount(ps.consortium[rows], minlength=model.n_consortia)
    ok = open_count - closing >= 1
    return rows[ok[ps.consortium[rows]]]


def replace_or_disperse(model: CommissioningModel, leaving: np.ndarray, entrant_z: np.ndarray) -> None:
    """A terminated contract's list goes to a new provider where barriers allow, else to neighbours.

    New providers open in row order while spare rows last; the rest of the lists disperse.
    """
    ps = model.practices
    uniform = model.streams.uniform("market.replace_terminated", ps.capacity)
    replace = model.board.replaces_terminated(uniform)[: leaving.size]
    replaced = leaving[replace][: ps.capacity - ps.n]
    if replaced.size:
        list_size = ps.list_size[replaced].copy()
        quality = mean_quality_staying(model, leaving)[ps.consortium[replaced]]
        open_entrants(model, ps.consortium[replaced], list_size, replaced, quality, entrant_z)
        ps.list_size[replaced] = 0.0
        ps.choice_weight[replaced] = 0.0
        ps.open[replaced] = False
    disperse = leaving[~np.isin(leaving, replaced)]
    rules.redistribute_list(ps, ps.n, disperse)
    model.drop_views(leaving)


def mean_quality_staying(model: CommissioningModel, leaving: np.ndarray) -> np.ndarray:
    """Each consortium's list-weighted mean quality over its open practices not in ``leaving``: where a
    new provider starts (it takes over patients, not a practice's record). A consortium with no one
    staying gets the national mean."""
    ps, n, count = model.practices, model.practices.n, model.n_consortia
    staying = ps.open[:n].copy()
    staying[leaving] = False
    cons = ps.consortium[:n]
    lists = np.where(staying, ps.list_size[:n], 0.0)
    weighted = np.bincount(cons, weights=lists * ps.quality[:n], minlength=count)
    patients = np.bincount(cons, weights=lists, minlength=count)
    national = weighted.sum() / patients.sum()
    return np.divide(weighted, patients, out=np.full(count, national), where=patients > 0)


def procure_entrants(model: CommissioningModel, entrant_z: np.ndarray) -> None:
    """New APMS providers take patients from the below-median practices of their consortium.

    At most one per consortium a year, so all consortia are handled at once: per-consortium medians,
    donor totals and list sizes come from grouped array operations, not a loop over consortia.
    """
    ps, n, count = model.practices, model.practices.n, model.n_consortia
    open_ = ps.open[:n]
    cons = ps.consortium[:n]
    per_cons = np.bincount(cons, weights=open_.astype(float), minlength=count)
    wanted = model.board.entrants_wanted(model.streams.uniform("market.procurement", count), per_cons)
    entering = np.flatnonzero(wanted.astype(bool) & (per_cons >= 2))[: ps.capacity - ps.n]
    if entering.size == 0:
        return
    members = np.flatnonzero(open_)
    quality = ps.quality[:n]
    median = grouped_median(quality[members], cons[members], count)
    donors = np.flatnonzero(open_ & np.isin(cons, entering) & (quality <= median[cons]))
    donor_cons, donor_lists = cons[donors], ps.list_size[donors]
    share = model.levers.market_entry.entrant_list_share
    take = share * model.consortia.population[donor_cons] * donor_lists / np.bincount(
        donor_cons, weights=donor_lists, minlength=count
    )[donor_cons]
    take = np.minimum(take, 0.5 * donor_lists)
    list_size = np.bincount(donor_cons, weights=take, minlength=count)[entering]
    first_donor = np.full(count, -1)
    first_donor[donor_cons[::-1]] = donors[::-1]  # the lowest row of each consortium's donors
    start_quality = mean_quality_staying(model, np.empty(0, dtype=np.intp))[entering]
    ps.choice_weight[donors] *= 1.0 - take / np.maximum(donor_lists, 1.0)
    ps.list_size[donors] -= take
    open_entrants(model, entering, list_size, first_donor[entering], start_quality, entrant_z)


def open_entrants(
    model: CommissioningModel,
    consortium: np.ndarray,
    list_size: np.ndarray,
    like_rows: np.ndarray,
    quality: np.ndarray,
    entrant_z: np.ndarray,
) -> np.ndarray:
    """Open new APMS practices, one per element, with ``list_size`` patients (taken by the caller from
    ``like_rows`` and their neighbours) and starting ``quality``; the caller leaves enough spare rows.

    Each serves the same kind of area as its ``like_rows`` practice (deprivation, case mix) but is a
    new organisation: autonomy, motivation and capacity come from this year's block of entrant draws
    ``entrant_z`` (a row of capacity standard normals per :data:`ENTRANT_TRAITS`, indexed by practice row
    to keep random streams aligned).
    Returns the new rows.
    """
    ps, b = model.practices, model.assumptions.practice
    rows = ps.add_rows(consortium.size)
    for name in _COPIED:
        column = getattr(ps, name)
        column[rows] = column[like_rows]
    ps.open[rows] = True
    ps.entrant[rows] = True
    ps.consortium[rows] = consortium
    ps.contract[rows] = APMS
    ps.list_size[rows] = list_size
    z = entrant_z[:, rows]
    ps.autonomy[rows] = bounded_score(b.autonomy_mean, b.autonomy_sd, z[0])
    ps.motivation[rows] = bounded_score(b.motivation_mean, b.motivation_sd, z[1])
    ps.motivation_own[rows] = ps.motivation[rows]
    ps.improvement_capacity[rows] = bounded_score(b.capacity_mean, b.capacity_sd, z[2])
    # It starts with the local effort split, scaled to its own capacity (it adapts from there).
    scale = ps.improvement_capacity[rows] / np.maximum(ps.improvement_capacity[like_rows], 1e-12)
    for name in ("effort_improve", "effort_record", "effort_prescribing"):
        getattr(ps, name)[rows] *= scale
    ps.quality[rows] = quality
    ps.quality_baseline[rows] = rules.equilibrium_baseline(ps, ps.n, model.assumptions)[rows]
    ps.fixed_cost_gbp[rows] = ps.fixed_cost_gbp[like_rows] * list_size / np.maximum(ps.list_size[like_rows], 1.0)
    ps.admissions_last4[:, rows] = ps.outcome_per_1000[rows] * list_size / 4000.0
    ps.reserves_gbp[rows] = 0.0
    ps.qof_income_last_gbp[rows] = 0.0
    rules.settle_choice_weights(ps, ps.n, model.n_consortia, model.levers.patient_choice.quality_sensitivity, rows)
    model.flows["new_entrants"] += float(rows.size)
    model.add_views(rows)
    return rows


def close_insolvent(model: CommissioningModel) -> None:
    """Practices in loss for ``closure_after_quarters`` quarters running close; their lists disperse."""
    ps, n = model.practices, model.practices.n
    closing = np.flatnonzero(
        ps.open[:n] & (ps.negative_quarters[:n] >= model.assumptions.practice.closure_after_quarters)
    )
    closing = keep_one_per_consortium(model, closing)
    if closing.size:
        rules.redistribute_list(ps, n, closing)
        model.drop_views(closing)
    model.flows["closures"] += float(closing.size)


def merge(model: CommissioningModel) -> None:
    """Practices merge into another practice of their consortium at ``merger_rate_per_year``.

    Smaller practices merge more often (chance in proportion to the mean list over their own); each joins
    the consortium's chosen partner (the non-merging open practice with the highest draw), which takes
    the list, the costs and the reserves, and whose quality becomes the list-weighted mean of the two.
    Most of the fall in practice numbers after 2010 was mergers (docs/evidence.md).
    """
    ps, n, count = model.practices, model.practices.n, model.n_consortia
    u = model.streams.uniform("market.merger", ps.capacity)[:n]
    v = model.streams.uniform("market.merger_partner", ps.capacity)[:n]
    rows = chosen_by_size(model, u, model.assumptions.context.merger_rate_per_year)
    if rows.size == 0:
        return
    open_ = ps.open[:n]
    lists = ps.list_size[:n]
    merging = np.zeros(n, dtype=bool)
    merging[rows] = True
    cons = ps.consortium[:n]
    candidate = np.where(open_ & ~merging, v, -1.0)
    best = np.full(count, -1.0)
    np.maximum.at(best, cons, candidate)
    is_partner = (candidate == best[cons]) & (candidate >= 0)
    partner_of = np.full(count, -1)
    partner_of[cons[is_partner]] = np.flatnonzero(is_partner)
    rows = rows[partner_of[cons[rows]] >= 0]
    if rows.size == 0:
        return
    partner = partner_of[cons[rows]]
    for name in ("quality", "quality_baseline"):  # list-weighted mean of the merged practices
        column = getattr(ps, name)
        weighted = np.bincount(partner, weights=column[rows] * lists[rows], minlength=n)[partner]
        total = np.bincount(partner, weights=lists[rows], minlength=n)[partner]
        column[partner] = (column[partner] * lists[partner] + weighted) / np.maximum(lists[partner] + total, 1.0)
    for name in ("list_size", "choice_weight", "fixed_cost_gbp", "reserves_gbp"):
        column = getattr(ps, name)
        np.add.at(column, partner, column[rows])
        column[rows] = 0.0
    ps.open[rows] = False
    model.drop_views(rows)
    model.flows["mergers"] += float(rows.size)


def chosen_by_size(model: CommissioningModel, uniform: np.ndarray, rate: float) -> np.ndarray:
    """Open practices picked at a yearly ``rate`` with chance in proportion to the mean list over their own
    (small practices merge and close more often), never a consortium's last; rows ``:n``."""
    ps, n = model.practices, model.practices.n
    open_ = ps.open[:n]
    if rate <= 0 or not open_.any():
        return np.empty(0, dtype=np.intp)
    lists = ps.list_size[:n]
    smallness = np.where(open_, lists[open_].mean() / np.maximum(lists, 1.0), 0.0)
    picked = open_ & (uniform < rate * smallness / max(float(smallness[open_].mean()), 1e-12))
    return keep_one_per_consortium(model, np.flatnonzero(picked))


def retire(model: CommissioningModel) -> None:
    """Practices close for reasons other than money or merger (partners retiring, no one to recruit) at
    ``retirement_closure_rate_per_year``; their patients disperse to the consortium's other practices."""
    ps = model.practices
    u = model.streams.uniform("market.retirement", ps.capacity)[: ps.n]
    rows = chosen_by_size(model, u, model.assumptions.context.retirement_closure_rate_per_year)
    if rows.size:
        rules.redistribute_list(ps, ps.n, rows)
        model.drop_views(rows)
    model.flows["closures"] += float(rows.size)


def grow_population(model: CommissioningModel) -> None:
    """Every list grows by the year's population growth (patients are conserved otherwise), and each
    consortium's population is recounted from its practices' lists."""
    ps, n = model.practices, model.practices.n
    growth = 1.0 + model.assumptions.context.population_growth_per_year
    ps.list_size[:n] *= growth
    ps.choice_weight[:n] *= growth
    model.consortia.population = np.bincount(
        ps.consortium[:n], weights=np.where(ps.open[:n], ps.list_size[:n], 0.0), minlength=model.n_consortia
    )
