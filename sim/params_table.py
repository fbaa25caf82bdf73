"""``run_sim.py params``: every scenario parameter with its default, range, unit and uncertainty.

The path is what users copy into ``--set`` and ``--vary``, so it is never cut or folded: a table where the
terminal is wide enough, else one block per parameter with the path on its own line.
"""

from __future__ import annotations


def print_params(scenario_name: str | None = None, *, markdown: bool = False) -> int:
    """Print every parameter (``params``): docs/parameters.md with ``markdown``, else a table, or one block
    per parameter on a narrow terminal."""
    from rich.table import Table

    from sim.cli_options import console
    from sim.docs import parameters_markdown
    from sim.scenario import parameter_specs

    if markdown:
        print(parameters_markdown(), end="")
        return 0
    from sim.scenario import load_scenario
    from sim.uncertainty.distributions import scenario_distributions

    scenario = load_scenario(scenario_name or "status_quo")
    dists = scenario_distributions(scenario)
    where = f"scenario {scenario.name}" if scenario_name else "the defaults"
    specs = parameter_specs()
    rows = []
    for spec in specs:
        rng = f"{spec.low} to {spec.high}" if spec.is_numeric else ", ".join(spec.choices) or "true/false"
        dist = dists.get(spec.path)
        rows.append((spec.path, str(spec.default), rng, spec.unit, dist.describe() if dist else ""))
    title = f"Scenario parameters (uncertainty around {where})"
    longest = max(len(s.path) for s in specs)
    # The path is what users copy into --set and --vary: always whole on one line. Where a table would
    # squeeze the other columns to a few letters, each parameter gets a block instead.
    if console.width < longest + 70:
        from rich.padding import Padding

        console.print(f"[bold]{title}[/bold]")
        for path, default, rng, unit, dist in rows:
            console.print(path, overflow="ignore", crop=False, soft_wrap=True, highlight=False)
            detail = f"default {default}; range {rng}; unit {unit}" + (f"; uncertainty {dist}" if dist else "")
            console.print(Padding(detail, (0, 0, 0, 4)), highlight=False)
        return 0
    table = Table(title=title)
    table.add_column("path", no_wrap=True, min_width=longest)
    for col in ("default", "range", "unit", "uncertainty"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return 0
