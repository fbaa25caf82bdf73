"""The briefing pack: built from a small stored experiment, opened in a real headless Chromium, and
refusing bad input with a clear message, a non-zero exit and no half-written folder."""

from __future__ import annotations

import functools
import http.server
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from helpers import headless_chromium, run_cli
from PIL import Image
from report_data import FOUR, Stored, ink, shared_store

from sim.report import MARKER, ReportError, build_report

FEW = "quality_mean,outcome_mean,qof_payments_gbp"


@pytest.fixture(scope="session")
def stored() -> Stored:
    return shared_store()


@pytest.fixture(scope="session")
def pack(stored: Stored, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full briefing pack of the four-scenario comparison, every format."""
    out = tmp_path_factory.mktemp("packs") / "four"
    return build_report(stored.compare, stored.db, out, ["png", "svg", "pdf"])


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name or ".old-" in p.name)


# ------------------------------------------------------------------------------------------ content


def test_pack_has_every_part(pack: Path) -> None:
    for name in ("index.html", "summary.md", "provenance.json", MARKER, "tables/headline.csv",
                 "tables/summary.csv", "tables/money.csv", "tables/scenarios.csv", "tables/runs.csv"):
        assert (pack / name).is_file(), name
    stems = {p.stem for p in (pack / "charts").glob("*.png")}
    expected = {"effects_1", "effects_2", "effects_3", "money", "governance", "funnel_outcome",
                "funnel_achievement", "funnel_prescribing", "distribution_quality", "fan_quality_mean",
                "fan_outcome_mean", "fan_qof_payments_gbp", "fan_total_cost_gbp"}
    assert expected <= stems
    for stem in stems:
        assert (pack / "charts" / f"{stem}.svg").is_file() and (pack / "charts" / f"{stem}.pdf").is_file()
    assert _leftovers(pack.parent) == []


def test_pngs_are_300_dpi_and_not_blank(pack: Path) -> None:
    for path in sorted((pack / "charts").glob("*.png")):
        with Image.open(path) as image:
            assert image.info["dpi"] == pytest.approx((300, 300), abs=0.1), path.name
            assert image.size[0] == int(16 / 2.54 * 300), path.name
            variance, _ = ink(image)
            assert variance > 200, path.name


def test_svgs_parse_and_pdfs_are_pdfs(pack: Path) -> None:
    for path in sorted((pack / "charts").glob("*.svg")):
        assert ET.parse(path).getroot().tag.endswith("svg"), path.name
    for path in sorted((pack / "charts").glob("*.pdf")):
        assert path.read_bytes()[:5] == b"%PDF-", path.name


def test_page_says_what_a_briefing_needs(pack: Path) -> None:
    html = (pack / "index.html").read_text(encoding="utf-8")
    for needle in ('id="headline"', "The question", "The scenarios compared", "Assumptions", "Provenance",
                   "Delegation: mode", "(status quo: none)", "QOF: outcome weight", "Model version",
                   "baseline", *FOUR):
        assert needle in html, needle
    # self-contained: nothing fetched from elsewhere
    assert "http://" not in html and "https://" not in html and "<script" not in html
    for src in pd.Series(html.split('src="')[1:]).str.split('"').str[0]:
        assert (pack / src).is_file(), src
    md = (pack / "summary.md").read_text(encoding="utf-8")
    assert "## Headline results" in md and "| Mean clinical quality" in md


def test_headline_table_matches_the_experiment_summary(stored: Stored, pack: Path) -> None:
    from sim.experiment import load_experiment

    summary = load_experiment(stored.compare, stored.db).summary
    table = pd.read_csv(pack / "tables" / "headline.csv")
    assert list(pd.unique(table["scenario"])) == list(FOUR)  # the experiment's order, baseline first
    row = summary[(summary["metric"] == "outcome_mean") & (summary["scenario"] == "white_paper")].iloc[0]
    shown = table[(table["metric"] == "outcome_mean") & (table["scenario"] == "white_paper")].iloc[0]
    assert float(str(shown["mean"]).replace(",", "")) == pytest.approx(row["mean"], rel=0.01)
    assert str(shown["unit"]) == "per 1,000 patients a year"
    share = table[(table["metric"] == "quality_mean") & (table["scenario"] == "status_quo")].iloc[0]
    assert share["unit"] == "% of patients"
    quality = summary[(summary["metric"] == "quality_mean") & (summary["scenario"] == "status_quo")].iloc[0]
    assert float(share["mean"]) == pytest.approx(quality["mean"] * 100, rel=0.01)


def test_sweep_and_sensitivity_packs(stored: Stored, tmp_path: Path) -> None:
    for name, chart in ((stored.sweep, "sweep_quality_mean"), (stored.sobol, "sensitivity_quality_mean_sobol"),
                        (stored.morris, "sensitivity_outcome_mean_morris")):
        out = build_report(name, stored.db, tmp_path / name, metrics=["quality_mean", "outcome_mean"])
        assert (out / "charts" / f"{chart}.png").is_file(), name
        assert 'id="headline"' in (out / "index.html").read_text(encoding="utf-8")
        assert (out / "tables" / "design_points.csv").is_file()


def test_pack_replaces_an_earlier_pack_and_keeps_other_files(stored: Stored, tmp_path: Path) -> None:
    out = tmp_path / "shared"
    out.mkdir()
    (out / "summary.csv").write_text("written by compare\n")
    build_report(stored.compare, stored.db, out, metrics=["quality_mean"])
    (out / "charts" / "stale.png").write_bytes(b"old")
    build_report(stored.compare, stored.db, out, metrics=["outcome_mean"])
    assert (out / "summary.csv").read_text() == "written by compare\n"
    assert not (out / "charts" / "stale.png").exists()
    assert (out / "charts" / "fan_outcome_mean.png").is_file()
    assert not (out / "charts" / "fan_quality_mean.png").exists()
    assert _leftovers(tmp_path) == []


def test_a_failure_while_drawing_leaves_nothing(stored: Stored, tmp_path: Path, monkeypatch) -> None:
    from sim import charts

    def broken(*args, **kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(charts, "governance_chart", broken)
    with pytest.raises(RuntimeError, match="drawing failed"):
        build_report(stored.compare, stored.db, tmp_path / "pack", metrics=["quality_mean"])
    assert list(tmp_path.iterdir()) == []


def test_a_folder_of_someone_elses_files_is_refused(stored: Stored, tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "index.html").write_text("my homepage")
    with pytest.raises(ReportError, match="not written by the simulator"):
        build_report(stored.compare, stored.db, out)
    assert (out / "index.html").read_text() == "my homepage"
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]


# ------------------------------------------------------------------------------------------ CLI


def test_cli_report_writes_the_pack(stored: Stored, tmp_path: Path) -> None:
    out = tmp_path / "cli-pack"
    proc = run_cli("report", stored.compare, "--db", stored.db, "--out", str(out), "--formats", "png,svg",
                   "--metrics", FEW)
    assert proc.returncode == 0, proc.stderr
    assert "index.html" in proc.stdout
    assert (out / "charts" / "fan_outcome_mean.svg").is_file()
    assert not (out / "charts" / "fan_outcome_mean.pdf").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["report", "no-such-experiment"], "No experiment named 'no-such-experiment'"),
    (["report", "four", "--metrics", "quality_mean,happiness"], "Unknown metric 'happiness'. Valid metrics:"),
    (["report", "four", "--formats", "png,gif"], "Unknown image format(s) gif"),
    (["report", "empty"], "has no finished runs"),
])
def test_cli_bad_input_fails_cleanly(stored: Stored, tmp_path: Path, args: list[str], message: str) -> None:
    _ensure_empty_experiment(stored)
    out = tmp_path / "pack"
    proc = run_cli(*args, "--db", stored.db, "--out", str(out))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in " ".join(proc.stderr.split()), proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == [], "a failed report left files behind"
    if "No experiment named" in message:
        assert "four" in proc.stderr  # the known experiments are listed


def _ensure_empty_experiment(stored: Stored) -> None:
    from sim.experiment.store import ResultStore

    with ResultStore(stored.db) as store:
        if "empty" not in store.experiment_names():
            store.begin_experiment(name="empty", kind="compare", definition_hash="0" * 16, baseline="status_quo",
                                   scenarios=["status_quo"], reps=1, base_seed=1, n_runs=1, code_version="test",
                                   options={})


def test_compare_with_report_is_the_one_command(tmp_path: Path) -> None:
    """The README's main command: run the comparison and write its briefing pack in one go."""
    db = f"sqlite:///{tmp_path / 'crsim.db'}"
    out = tmp_path / "brief"
    proc = run_cli("compare", "status_quo", "white_paper", "--reps", "2", "--scale", "0.03", "--quarters", "8",
                   "--workers", "1", "--no-progress", "--db", db, "--name", "one-go", "--out", str(out),
                   "--report", "--formats", "png,svg", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The pack goes where compare puts it: its --out folder, or (README) a report/ folder inside it.
    pack = out / "report" if (out / "report" / "index.html").is_file() else out
    assert (pack / "index.html").is_file()
    assert (pack / "charts" / "effects_1.svg").is_file()
    assert 'id="headline"' in (pack / "index.html").read_text(encoding="utf-8")
    assert (out / "summary.csv").is_file()  # compare's own tables are kept beside it


# ------------------------------------------------------------------------------------------ browser


@pytest.fixture
def served(pack: Path) -> Iterator[str]:
    """The pack over http://127.0.0.1 on a free port, as a colleague's browser would see a shared folder."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(pack)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
def test_pack_opens_in_headless_chromium(served: str, tmp_path: Path) -> None:
    with headless_chromium(1280, 1600) as driver:
        driver.get(served)
        assert driver.execute_script("return document.readyState") == "complete"
        assert driver.title.startswith("Briefing pack: four")
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])")
        assert len(images) >= 13
        broken = [src for src, complete, width in images if not complete or width <= 0]
        assert broken == [], f"images that did not load: {broken}"
        rows = driver.execute_script("return document.querySelectorAll('table#headline tbody tr').length")
        assert rows >= 6
        header = driver.execute_script("return document.querySelector('table#headline thead').innerText")
        for name in FOUR:
            assert name in header
        errors = [e for e in driver.get_log("browser") if e.get("level") in ("SEVERE", "ERROR")]
        assert errors == [], errors
        # The answer is on the first screen: the key findings box starts within it.
        top = driver.execute_script("return document.getElementById('key-findings').getBoundingClientRect().top")
        assert 0 <= top < 900
        # Nothing makes the page scroll sideways, on a laptop or a narrow window (wide tables scroll in their box).
        for width in (1280, 760):
            driver.set_window_size(width, 1000)
            wide = driver.execute_script(
                "const w = document.documentElement.clientWidth; return [document.documentElement.scrollWidth, w,"
                " Array.from(document.querySelectorAll('main *')).filter(e => e.getBoundingClientRect().right > w + 1"
                " && !e.closest('.table-wrap')).map(e => e.tagName + '.' + e.className).slice(0, 5)]")
            assert wide[0] <= wide[1] and wide[2] == [], f"horizontal overflow at {width} px: {wide}"
        height = int(driver.execute_script("return document.body.scrollHeight"))
        driver.set_window_size(1280, min(height, 16000))
        shot = tmp_path / "briefing-pack.png"
        assert driver.save_screenshot(str(shot))
        print(f"screenshot of the briefing pack: {shot}")
        with Image.open(shot) as image:
            assert ink(image)[0] > 100
