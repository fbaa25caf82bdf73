"""Mutation score of the behaviour rules and processes against the fast tests (issue 17, docs/testing.md).

Each mutant is one deliberate single mistake in a rule or process module (a flipped comparison, a dropped
term, a sign, a swapped argument, an off-by-one), written out below as (file, original text, mutated
text). The script copies the repository to a temporary folder (the working tree is never touched), applies
each mutant there in turn, runs the fast tests and counts the mutant *killed* if they fail (or time out).
It prints the score and the survivors, which docs/testing.md lists with why each is equivalent or left.

Usage:
    python benchmarks/mutation_score.py                      # all mutants, the fast tests
    python benchmarks/mutation_score.py --workers 2          # in parallel (one copy of the repo a worker)
    python benchmarks/mutation_score.py --without tests/test_rule_pins.py   # the score without a test file
    python benchmarks/mutation_score.py --only money         # mutants whose id starts with "money"
    python benchmarks/mutation_score.py --list               # the mutants, without running anything

Standard library only; it runs the tests with the interpreter it is run with (the project's venv).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FAST_TESTS = (
    "tests/test_rules.py",
    "tests/test_rule_pins.py",
    "tests/test_mechanisms.py",
    "tests/test_properties.py",
    "tests/test_directions.py",
    "tests/test_model.py",
)

# What is copied: the package, the tests and what they read (scenarios, docs, the project file).
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", ".venv-ci", "results", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache",
    ".hypothesis", "build", "dist",
)


@dataclass(frozen=True)
class Mutant:
    id: str
    path: str
    original: str
    mutated: str
    what: str


P, C, B = "sim/agents/practice.py", "sim/agents/consortium.py", "sim/agents/board.py"
INC, MAR = "sim/incentives.py", "sim/marginal.py"
POL, MON, REV, MKT = (f"sim/processes/{name}.py" for name in ("policy", "money", "review", "market"))

MUTANTS: tuple[Mutant, ...] = (
    # ---------------------------------------------------------------- practice rules
    Mutant("practice.remedial_dropped", P, "        + b.remedial_sensitivity * ps.remedial[:n]\n", "",
           "effort targets without the remedial-notice term"),
    Mutant("practice.premium_peer_dropped", P, "        + sig.premium_peer_improve\n", "",
           "effort targets without the premium's peer pressure on improvement"),
    Mutant("practice.budget_pressure_dropped", P, "        + sig.budget_pressure\n", "",
           "effort targets without budget pressure"),
    Mutant("practice.receptive_sign", P, "b.peer_pressure_sensitivity * (1.0 - ps.autonomy[:n])",
           "b.peer_pressure_sensitivity * ps.autonomy[:n]", "autonomous practices the most receptive to peers"),
    Mutant("practice.share_drops_prescribe", P, "(1.0 + improve + record + prescribe)", "(1.0 + improve + record)",
           "capacity shared without prescribing's attraction"),
    Mutant("practice.money_sign", P, "+ paid * sig.improve_gbp", "- paid * sig.improve_gbp",
           "payment for improvement repels improvement effort"),
    Mutant("practice.headroom", P, "ps.effort_improve[:n] * (1.0 - q) - b.quality_decay",
           "ps.effort_improve[:n] * q - b.quality_decay", "quality gain grows near the ceiling"),
    Mutant("practice.prescribing_sign", P, "- p.efficiency_effect * ps.effort_prescribing[:n] * u",
           "+ p.efficiency_effect * ps.effort_prescribing[:n] * u", "prescribing effort raises unwarranted cost"),
    Mutant("practice.remedial_never_fades", P, "    ps.remedial[:n] *= keep\n", "",
           "remedial pressure never fades"),
    Mutant("practice.choice_sign", P, "np.exp(sensitivity * quality_z(ps, n, n_consortia))",
           "np.exp(-sensitivity * quality_z(ps, n, n_consortia))", "patients choose worse practices"),
    Mutant("practice.motivation_recovery_sign", P, "    m += rate * np.maximum(own - m, 0.0)",
           "    m -= rate * np.maximum(own - m, 0.0)", "resentment deepens instead of fading"),
    Mutant("practice.effort_swapped_target", P, "ps.effort_record[:n] += rate * (rec - ps.effort_record[:n])",
           "ps.effort_record[:n] += rate * (imp - ps.effort_record[:n])",
           "recording effort moves to improvement's target"),
    Mutant("practice.redistribute_other_consortium",
           P, "moved_by_cons = np.bincount(ps.consortium[leaving], weights=moved",
           "moved_by_cons = np.bincount(ps.consortium[leaving] * 0, weights=moved",
           "a closing practice's patients all go to consortium 0"),
    # ---------------------------------------------------------------- consortium rules
    Mutant("consortium.autonomy_sign", C, "- c.autonomy_effect * (autonomy - 0.5)",
           "+ c.autonomy_effect * (autonomy - 0.5)",
           "autonomous practices easier to challenge"),
    Mutant("consortium.credibility_dropped", C, "        + c.credibility_effect * (credibility - 0.5)\n", "",
           "challenge success without the reviewer's credibility"),
    Mutant("consortium.credibility_swapped", C, "(1.0 - lead.credibility_loss) ** failures",
           "(1.0 - lead.credibility_loss) ** successes", "credibility lost on successes"),
    Mutant("consortium.funnel_outcome_sign", C, "z_out = (observed - expected)", "z_out = (expected - observed)",
           "excess admissions scored as good"),
    Mutant("consortium.funnel_achievement_sign", C, "z_ach = (p_bar - p) / se", "z_ach = (p - p_bar) / se",
           "high QOF achievement scored as bad"),
    Mutant("consortium.funnel_prescribing_sign", C, "z_rx = (prescribing_per_head - c_bar)",
           "z_rx = (c_bar - prescribing_per_head)", "costly prescribing scored as good"),
    Mutant("consortium.threshold_inclusive", C, "candidates = np.flatnonzero(score > threshold)",
           "candidates = np.flatnonzero(score >= threshold)", "a practice at the limit counts as an outlier"),
    Mutant("consortium.capacity_off_by_one", C, "return order[rank < capacity[g]]", "return order[rank <= capacity[g]]",
           "one review more than capacity"),
    Mutant("consortium.engagement_sign", C, "(willingness - autonomy)))", "(autonomy - willingness)))",
           "leads avoid the compliant, engage the autonomous"),
    Mutant("consortium.learning_off_by_one", C, "(1.0 - rate) ** conversations", "(1.0 - rate) ** (conversations + 1)",
           "leads learn without holding a conversation"),
    Mutant("consortium.recovery_flipped", C, "np.where(credibility < reference,", "np.where(credibility > reference,",
           "credibility above its starting level 'recovers' down"),
    Mutant("consortium.worst_domain_flipped", C, "np.where(out >= worse_of_others, OUTCOME",
           "np.where(out <= worse_of_others, OUTCOME", "the challenge targets the wrong domain"),
    Mutant("consortium.overdispersion_floor", C, "return z / np.sqrt(np.maximum(phi, 1.0))[group]",
           "return z / np.sqrt(np.maximum(phi, 1e-12))[group]", "underdispersed z-scores inflated"),
    # ---------------------------------------------------------------- board rules
    Mutant("board.authorisation_inverted", B, "authorised = readiness >= d.authorisation_threshold",
           "authorised = readiness < d.authorisation_threshold", "the unready are authorised"),
    Mutant("board.withdraw_surplus", B, "authorised &= ~cs.deficit_last_year", "authorised &= cs.deficit_last_year",
           "delegation withdrawn from consortia in surplus"),
    Mutant("board.withdraw_at_first", B, "if not first and d.withdraw_on_deficit:", "if d.withdraw_on_deficit:",
           "the first authorisation already withdraws on deficit"),
    Mutant("board.assessment_noise_sign", B, "+ d.assessment_noise_sd * noise", "- d.assessment_noise_sd * noise",
           "assessment error of the wrong sign"),
    Mutant("board.capacity_swapped", B, "expected = np.where(cs.delegated, lead, board)",
           "expected = np.where(cs.delegated, board, lead)", "leads get the board's capacity and vice versa"),
    Mutant("board.confirm_flipped", B, "confirmed = escalated[assessed <= bar]",
           "confirmed = escalated[assessed >= bar]",
           "the board confirms the best escalated practices"),
    Mutant("board.terminate_off_by_one",
           B, "terminate = confirmed[ps.notices[confirmed] >= ca.terminate_after_notices]",
           "terminate = confirmed[ps.notices[confirmed] > ca.terminate_after_notices]", "termination one notice late"),
    Mutant("board.entry_barriers_inverted", B, "rate = m.entry_rate_per_year * (1.0 - m.barriers)",
           "rate = m.entry_rate_per_year * m.barriers", "more entrants where barriers are high"),
    Mutant("board.replacement_inverted", B, "return uniform < 1.0 - self.levers.market_entry.barriers",
           "return uniform < self.levers.market_entry.barriers", "replacement likelier where barriers are high"),
    # ---------------------------------------------------------------- incentives
    Mutant("incentives.premium_improved_flipped", INC, "improved = measure_now <= (1.0 - premium.required_improvement)",
           "improved = measure_now >= (1.0 - premium.required_improvement)", "premium for getting worse"),
    Mutant("incentives.premium_overspend_boundary", INC, "improved & (balance_gbp >= 0.0)",
           "improved & (balance_gbp > 0.0)",
           "a consortium exactly on budget loses the premium"),
    Mutant("incentives.premium_overspend_dropped", INC, "return improved & (balance_gbp >= 0.0)", "return improved",
           "premium paid to overspenders"),
    Mutant("incentives.contribution_negative", INC, "contrib = np.maximum(improvement, 0.0) * list_size",
           "contrib = improvement * list_size", "worsening practices paid a negative premium"),
    Mutant("incentives.contribution_pulls_nothing", INC, "weights = np.where(has, contrib, list_size)",
           "weights = np.where(has, list_size, list_size)", "contribution paid per head"),
    Mutant("incentives.outcome_points_sign", INC, "np.clip((qof.outcome_band_high - observed_to_expected) / span",
           "np.clip((observed_to_expected - qof.outcome_band_low) / span", "outcome points for more admissions"),
    Mutant("incentives.qof_reference_dropped", INC, "* qof.point_value_gbp * list_size / reference_list",
           "* qof.point_value_gbp * list_size", "QOF not scaled to the reference list"),
    Mutant("incentives.convergence_swapped", INC, "return (1.0 - progress) * own + progress * single",
           "return (1.0 - progress) * single + progress * own", "convergence runs backwards"),
    Mutant("incentives.phase_in_max", INC, "min(1.0, max(0.0, years_elapsed) / qof.phase_in_years)",
           "max(1.0, max(0.0, years_elapsed) / qof.phase_in_years)", "outcome weight overshoots"),
    Mutant("incentives.process_points_sign", INC, "return np.clip(p_full + paying, 0.0, 1.0)",
           "return np.clip(p_full - paying, 0.0, 1.0)", "process points from the paying band subtracted"),
    # ---------------------------------------------------------------- marginal
    Mutant("marginal.outlook_sign", MAR, "z = (target - expected) / sd", "z = (expected - target) / sd",
           "chance of the premium highest when far from the target"),
    Mutant("marginal.eligibility_dropped", MAR, "chance=ok * ndtr(z),", "chance=ndtr(z),",
           "ineligible consortia expect the premium"),
    Mutant("marginal.own_share_dropped", MAR, "    return collective + own\n", "    return collective\n",
           "contribution pays a practice nothing for its own gain"),
    Mutant("marginal.dilution_dropped", MAR, "share_of_measure = list_size / np.maximum(population[consortium], 1.0)",
           "share_of_measure = np.ones_like(list_size)", "no free-riding under per head"),
    Mutant("marginal.headroom", MAR, "return b.improvement_efficiency * (1.0 - quality) * b.planning_horizon_quarters",
           "return b.improvement_efficiency * quality * b.planning_horizon_quarters", "expected gain without headroom"),
    Mutant("marginal.unwarranted_dropped", MAR, "a.prescribing.efficiency_effect * unwarranted *",
           "a.prescribing.efficiency_effect *", "prescribing effort's value not scaled by what is unwarranted"),
    # ---------------------------------------------------------------- policy
    Mutant("policy.pressure_not_delegated", POL, "in_deficit = cs.delegated & (cs.balance_ytd_gbp < 0)",
           "in_deficit = cs.balance_ytd_gbp < 0", "budget pressure in consortia not delegated"),
    Mutant("policy.pressure_in_surplus", POL, "in_deficit = cs.delegated & (cs.balance_ytd_gbp < 0)",
           "in_deficit = cs.delegated & (cs.balance_ytd_gbp > 0)", "budget pressure for consortia in surplus"),
    Mutant("policy.peer_dropped", POL, "premium_peer_improve=peer if on_outcome else zero,",
           "premium_peer_improve=zero,", "the premium's peer pressure dropped"),
    Mutant("policy.peer_target_swapped", POL, "premium_peer_prescribe=zero if on_outcome else peer,",
           "premium_peer_prescribe=peer if on_outcome else zero,", "an outcome premium presses on prescribing too"),
    Mutant("policy.willingness_dropped", POL, "leverage = (cs.skill * cs.willingness * cs.credibility)[cons]",
           "leverage = (cs.skill * cs.credibility)[cons]", "unwilling leads press as hard as willing ones"),
    Mutant("policy.peer_autonomy_sign", POL, "leverage * (1.0 - ps.autonomy[:n])", "leverage * ps.autonomy[:n]",
           "autonomous members feel the premium most"),
    Mutant("policy.premium_value_dropped", POL, "improve_premium=premium_value if on_outcome else zero,",
           "improve_premium=zero,", "the outcome premium dropped from effort's value"),
    Mutant("policy.eligible_flipped", POL, "eligible = cs.allocation_per_head_gbp * pop >= 4.0 * spend",
           "eligible = cs.allocation_per_head_gbp * pop <= 4.0 * spend", "overspenders expect the premium"),
    Mutant("policy.capitation_sign", POL, "margin = np.maximum(income - ps.cost_per_head_gbp[:n], 0.0)",
           "margin = np.maximum(ps.cost_per_head_gbp[:n] - income, 0.0)", "patients worth their cost over funding"),
    # ---------------------------------------------------------------- money
    Mutant("money.fixed_costs_dropped", MON, " + ps.fixed_cost_gbp[:n] / 4.0, 0.0)", ", 0.0)",
           "practices' fixed costs not counted"),
    Mutant("money.funding_four_times", MON, "income = funding * lists / 4.0", "income = funding * lists",
           "a year's core funding every quarter"),
    Mutant("money.working_capital_sign", MON, "ps.reserves_gbp[:n] - b.working_capital_quarters * quarter_income",
           "ps.reserves_gbp[:n] + b.working_capital_quarters * quarter_income", "partners draw their working capital"),
    Mutant("money.drawings_sign", MON, "ps.reserves_gbp[:n] -= drawings", "ps.reserves_gbp[:n] += drawings",
           "drawings added to reserves"),
    Mutant("money.losses_never_counted", MON, "np.where(open_ & losing, ps.negative_quarters[:n] + 1, 0)",
           "np.where(open_ & losing, ps.negative_quarters[:n], 0)", "insolvent quarters never counted"),
    Mutant("money.losing_flipped", MON, "losing = ps.reserves_gbp[:n] < 0", "losing = ps.reserves_gbp[:n] > 0",
           "practices in credit count as losing"),
    Mutant("money.allocation_four_times", MON, "cs.allocation_per_head_gbp * cs.population / 4.0",
           "cs.allocation_per_head_gbp * cs.population", "consortia allocated a year each quarter"),
    Mutant("money.allowance_four_times",
           MON, "allowance = lv.finance.management_allowance_per_head_gbp * cs.population / 4.0",
           "allowance = lv.finance.management_allowance_per_head_gbp * cs.population",
           "running-cost allowance a year each quarter"),
    Mutant("money.premium_doubled", MON, "np.where(earned, lv.quality_premium.per_head_gbp * cs.population, 0.0)",
           "np.where(earned, 2.0 * lv.quality_premium.per_head_gbp * cs.population, 0.0)", "premium paid twice over"),
    Mutant("money.improvement_sign", MON, "improvement = ps.measure_last_year[:n] - measure_now",
           "improvement = measure_now - ps.measure_last_year[:n]", "contribution rewards worsening"),
    Mutant("money.baseline_not_rolled", MON, "    cs.measure_last_year = measure\n", "",
           "the premium's baseline year never rolls forward"),
    Mutant("money.practice_baseline_not_rolled", MON, "    ps.measure_last_year[:n] = measure_now\n", "",
           "practices' baseline year never rolls forward"),
    Mutant("money.outcome_weight_swapped", MON, "share = (1.0 - w) * process + w * incentives.outcome_points_share",
           "share = w * process + (1.0 - w) * incentives.outcome_points_share", "QOF weights swapped"),
    Mutant("money.review_money_yearly", MON, "kept / lv.delegation.cost_per_review_gbp / 4.0",
           "kept / lv.delegation.cost_per_review_gbp", "a year's premium-bought reviews every quarter"),
    Mutant("money.allocation_not_reset", MON, "    model.consortia.allocation_ytd_gbp[:] = 0.0\n", "",
           "the year-to-date allocation never resets"),
    Mutant("money.qof_to_closed", MON, "qof = np.where(open_, incentives.qof_payment_gbp",
           "qof = np.where(True, incentives.qof_payment_gbp",
           "QOF paid to closed practices"),
    # ---------------------------------------------------------------- review
    Mutant("review.success_inverted", REV, "success = u[reviewed] < p", "success = u[reviewed] > p",
           "challenges succeed at 1 - p"),
    Mutant("review.board_never_escalates", REV, "u_escalate[reviewed] < cs.willingness[c], True)",
           "u_escalate[reviewed] < cs.willingness[c], False)", "the board never escalates its own findings"),
    Mutant("review.escalation_willingness_inverted", REV, "u_escalate[reviewed] < cs.willingness[c], True)",
           "u_escalate[reviewed] > cs.willingness[c], True)", "unwilling leads escalate most"),
    Mutant("review.credibility_everyone", REV, "cs.delegated, cons_rules.update_credibility(",
           "True, cons_rules.update_credibility(", "credibility updated for consortia not delegated"),
    Mutant("review.recovery_everyone", REV, "cs.credibility = np.where(cs.delegated, recovered, cs.credibility)",
           "cs.credibility = recovered", "credibility recovers for consortia not delegated"),
    Mutant("review.escalate_off_by_one", REV, "ps.unresolved[reviewed] >= lv.peer_challenge.escalate_after",
           "ps.unresolved[reviewed] > lv.peer_challenge.escalate_after", "escalation one challenge late"),
    Mutant("review.pressure_to_lost", REV, "ps.pressure_quality[won[~on_rx]] = 1.0", "ps.pressure_quality[lost] = 1.0",
           "peer pressure after a failed challenge"),
    Mutant("review.goodwill_lost_on_success", REV, "ps.motivation[lost] = np.maximum(ps.motivation[lost] -",
           "ps.motivation[won] = np.maximum(ps.motivation[won] -", "resentment after a successful challenge"),
    Mutant("review.avoidance_inverted", REV, "avoided = cs.delegated[cons] & (u_engage >= engage)",
           "avoided = cs.delegated[cons] & (u_engage < engage)", "leads avoid the conversations they would hold"),
    Mutant("review.remote_inverted", REV, "remote = ~cs.delegated[ps.consortium[:n]]",
           "remote = cs.delegated[ps.consortium[:n]]", "leads see their own members through noisier data"),
    Mutant("review.learning_everyone", REV, "held = np.where(cs.delegated, wins + losses, 0)", "held = wins + losses",
           "the board's conversations train consortium leads"),
    # ---------------------------------------------------------------- market
    Mutant("market.closure_off_by_one",
           MKT, "ps.negative_quarters[:n] >= model.assumptions.practice.closure_after_quarters",
           "ps.negative_quarters[:n] > model.assumptions.practice.closure_after_quarters", "closure one quarter late"),
    Mutant("market.keep_none", MKT, "ok = open_count - closing >= 1", "ok = open_count - closing >= 0",
           "closures may empty a consortium"),
    Mutant("market.insolvent_may_empty", MKT, "    closing = keep_one_per_consortium(model, closing)\n", "",
           "insolvency closures may empty a consortium"),
    Mutant("market.deficit_flipped", MKT, "cs.deficit_last_year = cs.balance_ytd_gbp < 0",
           "cs.deficit_last_year = cs.balance_ytd_gbp > 0", "surplus counted as deficit at the delegation review"),
    Mutant("market.donors_above_median", MKT, "(quality <= median[cons]))", "(quality >= median[cons]))",
           "entrants take patients from the best practices"),
    Mutant("market.population_shrinks", MKT, "growth = 1.0 + model.assumptions.context.population_growth_per_year",
           "growth = 1.0 - model.assumptions.context.population_growth_per_year",
           "population growth of the wrong sign"),
    Mutant("market.terminated_may_empty", MKT, "    terminated = keep_one_per_consortium(model, terminated)\n", "",
           "terminations may empty a consortium"),
)


def check_mutants(root: Path) -> list[str]:
    """Each mutant's original text must occur exactly once in its file (else the list is stale)."""
    problems = []
    ids = [m.id for m in MUTANTS]
    if len(ids) != len(set(ids)):
        problems.append("duplicate mutant ids")
    for m in MUTANTS:
        count = (root / m.path).read_text().count(m.original)
        if count != 1:
            problems.append(f"{m.id}: original text found {count} times in {m.path}")
    return problems


def make_copy(dest: Path, without: tuple[str, ...]) -> Path:
    shutil.copytree(ROOT, dest, ignore=COPY_IGNORE)
    for path in without:
        (dest / path).unlink(missing_ok=True)
    return dest


def env_for(copy: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = str(copy) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("CI", None)
    return env


def run_tests(copy: Path, tests: tuple[str, ...], timeout: float) -> tuple[str, float]:
    """'passed', 'failed' or 'timeout', and the seconds taken."""
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    try:
        proc = subprocess.run(cmd, cwd=copy, env=env_for(copy), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.perf_counter() - start
    return ("passed" if proc.returncode == 0 else "failed"), time.perf_counter() - start


def imports_the_copy(copy: Path) -> bool:
    """The tests in the copy must import the copy's ``sim``, not the installed (editable) one."""
    out = subprocess.run([sys.executable, "-c", "import sim; print(sim.__file__)"], cwd=copy, env=env_for(copy),
                         capture_output=True, text=True, check=True).stdout.strip()
    return Path(out).resolve().is_relative_to(copy.resolve())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    parser.add_argument("--timeout", type=float, default=0.0, help="seconds a mutant (default: 3 x the clean run)")
    parser.add_argument("--without", action="append", default=[], help="a test file to leave out of the copy")
    parser.add_argument("--only", default="", help="run only mutants whose id starts with this")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)

    problems = check_mutants(ROOT)
    if problems:
        print("stale mutants (the code they mutate has changed):\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    mutants = [m for m in MUTANTS if m.id.startswith(args.only)]
    if args.list:
        for m in mutants:
            print(f"{m.id:45s} {m.path:28s} {m.what}")
        print(f"{len(mutants)} mutants")
        return 0
    without = tuple(args.without)
    tests = tuple(t for t in FAST_TESTS if t not in without)

    with tempfile.TemporaryDirectory(prefix="crsim-mutants-") as tmp:
        copies = [make_copy(Path(tmp) / f"w{k}", without) for k in range(max(1, args.workers))]
        if not imports_the_copy(copies[0]):
            print("the copy imports the installed sim package, not its own: aborting", file=sys.stderr)
            return 2
        status, clean_seconds = run_tests(copies[0], tests, timeout=1800)
        if status != "passed":
            print(f"the fast tests do not pass on the unmutated copy ({status}): aborting", file=sys.stderr)
            return 2
        timeout = args.timeout or max(60.0, 3.0 * clean_seconds)
        print(f"clean run: {clean_seconds:.0f} s; {len(mutants)} mutants, {len(copies)} workers, "
              f"timeout {timeout:.0f} s; tests: {' '.join(tests)}", flush=True)

        free = list(copies)
        results: dict[str, tuple[str, float]] = {}

        def run_one(m: Mutant) -> tuple[Mutant, str, float]:
            copy = free.pop()
            try:
                target = copy / m.path
                source = target.read_text()
                target.write_text(source.replace(m.original, m.mutated, 1))
                try:
                    status, seconds = run_tests(copy, tests, timeout)
                finally:
                    target.write_text(source)
            finally:
                free.append(copy)
            return m, status, seconds

        with ThreadPoolExecutor(max_workers=len(copies)) as pool:
            for m, status, seconds in pool.map(run_one, mutants):
                results[m.id] = (status, seconds)
                verdict = "survived" if status == "passed" else f"killed ({status})"
                print(f"  {m.id:45s} {verdict:18s} {seconds:5.0f} s", flush=True)

    survivors = [m for m in mutants if results[m.id][0] == "passed"]
    killed = len(mutants) - len(survivors)
    score = killed / len(mutants) if mutants else 0.0
    print(f"\nmutation score: {killed}/{len(mutants)} killed = {100 * score:.0f}%")
    if survivors:
        print("survivors:")
        for m in survivors:
            print(f"  {m.id:45s} {m.path}: {m.what}")
    if args.json:
        args.json.write_text(json.dumps(
            {"killed": killed, "total": len(mutants), "score": score, "tests": list(tests),
             "results": {k: {"status": s, "seconds": round(t, 1)} for k, (s, t) in results.items()}},
            indent=2,
        ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
