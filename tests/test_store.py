"""The results database, on SQLite and on a real PostgreSQL server (``store_url`` runs each test on both)."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from sim.experiment import load_experiment
from sim.experiment.errors import StoreError
from sim.experiment.executors import make_executor
from sim.experiment.plan import plan_compare
from sim.experiment.running import run_plan
from sim.experiment.store import ResultStore, RunLink, mask_url
from sim.experiment.store import engine as store_engine
from sim.experiment.store import schema as store_module
from sim.experiment.store import writing as store_writing
from sim.runner import run
from sim.scenario import load_scenario
from sim.version import MODEL_VERSION

OVERRIDES = ["run.scale=0.02", "run.quarters=8"]


@pytest.fixture(scope="module")
def result():
    return run(load_scenario("status_quo", OVERRIDES), 7)


@pytest.fixture(scope="module")
def other_result():
    return run(load_scenario("status_quo", OVERRIDES), 8)


def _begin(store: ResultStore, name: str = "e1", definition: str = "d1") -> int:
    exp_id, _ = store.begin_experiment(
        name=name, kind="compare", definition_hash=definition, baseline="status_quo", scenarios=["status_quo"],
        reps=2, base_seed=7, n_runs=2, code_version="test", options={"snapshots": "first"})
    return exp_id


def _count(store: ResultStore, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_schema_version_is_recorded_and_checked(store_url):
    with ResultStore(store_url) as store:
        assert store.schema_version() == store_module.SCHEMA_VERSION
        with store.engine.begin() as conn:
            conn.execute(store_module.schema_info.update().where(store_module.schema_info.c.key == "schema_version")
                         .values(value="999"))
    with pytest.raises(StoreError, match="schema version 999"):
        ResultStore(store_url)


def test_indexes_for_the_report_queries_exist(store_url):
    with ResultStore(store_url) as store:
        inspector = sa.inspect(store.engine)
        keys = {t: inspector.get_pk_constraint(t)["constrained_columns"]
                for t in ("run_metrics", "practice_snapshots", "experiment_runs")}
        link_indexes = {tuple(ix["column_names"]) for ix in inspector.get_indexes("experiment_runs")}
        unique = inspector.get_unique_constraints("runs")
        names = inspector.get_unique_constraints("experiments") + [
            ix for ix in inspector.get_indexes("experiments") if ix["unique"]]
    # An experiment's runs, then each run's rows, are found by key prefix.
    assert keys["experiment_runs"][0] == "experiment_id"
    assert ("run_id",) in link_indexes  # which experiments use a run
    for table in ("run_metrics", "practice_snapshots"):
        assert keys[table][:2] == ["run_id", "quarter"], table
    assert keys["run_metrics"] == ["run_id", "quarter"]  # one row per run and quarter
    assert any(set(u["column_names"]) == {"scenario_hash", "seed", "model_version"} for u in unique)
    assert any(u["column_names"] == ["name"] for u in names)


def test_a_run_round_trips_bit_for_bit(store_url, result):
    with ResultStore(store_url) as store:
        exp_id = _begin(store)
        store.save_run(result, RunLink(exp_id, "status_quo", 0, 0), keep_snapshots=True)
        data = store.load_experiment("e1")
    expected = result.metrics
    got = data.metrics
    assert list(got["quarter"]) == list(expected["quarter"])
    for col in expected.columns:
        if pd.api.types.is_numeric_dtype(expected[col]):
            assert np.array_equal(got[col].to_numpy(float), expected[col].to_numpy(float), equal_nan=True), col
        else:
            assert got[col].astype(str).tolist() == expected[col].astype(str).tolist(), col
    snaps = data.snapshots.sort_values(["quarter", "practice_id"], ignore_index=True)
    want = result.snapshots.sort_values(["quarter", "practice_id"], ignore_index=True)
    assert len(snaps) == len(want) > 0
    for col in want.columns:
        if col == "contract":
            assert snaps[col].astype(str).tolist() == want[col].astype(str).tolist()
        else:
            assert np.array_equal(snaps[col].to_numpy(float), want[col].to_numpy(float), equal_nan=True), col
    runs = data.runs
    assert runs.loc[0, "scenario_hash"] == result.metadata["scenario_hash"]
    assert runs.loc[0, "model_version"] == MODEL_VERSION
    assert data.summary.empty  # the store does no analysis; the public loader adds the paired summary
    public = load_experiment("e1", store_url)
    assert list(public.summary.columns)[:3] == ["metric", "scenario", "baseline"]
    assert public.summary["quarter"].max() == expected["quarter"].max()


def test_a_stored_run_is_reused_not_duplicated(store_url, result, other_result):
    with ResultStore(store_url) as store:
        exp_id = _begin(store)
        first = store.save_run(result, RunLink(exp_id, "status_quo", 0, 0), keep_snapshots=False)
        found = store.find_run(result.metadata["scenario_hash"], 7)
        assert found is not None and found.run_id == first and not found.has_snapshots
        # Saving again (another process computed it too) adds the snapshots but no second run.
        again = store.save_run(result, RunLink(exp_id, "status_quo", 0, 0), keep_snapshots=True)
        assert again == first
        assert store.find_run(result.metadata["scenario_hash"], 7).has_snapshots
        store.link_run(first, RunLink(exp_id, "status_quo", 0, 0))
        second = store.save_run(other_result, RunLink(exp_id, "status_quo", 0, 1), keep_snapshots=False)
        assert _count(store, store_module.runs) == 2
        assert _count(store, store_module.experiment_runs) == 2
        n_quarters = len(result.metrics)
        assert _count(store, store_module.run_metrics) == 2 * n_quarters
        assert store.find_run(result.metadata["scenario_hash"], 7, model_version="other") is None
        assert second != first


def test_a_run_is_written_in_one_transaction(store_url, result, monkeypatch):
    with ResultStore(store_url) as store:
        exp_id = _begin(store)

        def broken(*args, **kwargs):
            raise RuntimeError("disk full, say")

        monkeypatch.setattr(store_writing, "_insert_snapshots", broken)
        with pytest.raises(RuntimeError, match="disk full"):
            store.save_run(result, RunLink(exp_id, "status_quo", 0, 0), keep_snapshots=True)
        for table in (store_module.runs, store_module.run_metrics, store_module.experiment_runs):
            assert _count(store, table) == 0, table.name


def test_a_failed_run_is_recorded_then_completed_in_place(store_url, result):
    scenario = load_scenario("status_quo", OVERRIDES)
    with ResultStore(store_url) as store:
        exp_id = _begin(store)
        link = RunLink(exp_id, "status_quo", 0, 0)
        store.save_failed_run(scenario=scenario, scenario_hash=result.metadata["scenario_hash"], seed=7,
                              error="Traceback...\nValueError: boom", code_version="x", package_versions={},
                              link=link)
        assert store.find_run(result.metadata["scenario_hash"], 7) is None
        assert store.run_errors(exp_id) == ["Traceback...\nValueError: boom"]
        assert store.list_experiments().loc[0, "runs_stored"] == 0
        run_id = store.save_run(result, link)
        assert store.find_run(result.metadata["scenario_hash"], 7).run_id == run_id
        assert store.run_errors(exp_id) == []
        assert store.list_experiments().loc[0, "runs_stored"] == 1
        assert _count(store, store_module.runs) == 1


def test_experiments_are_resumed_only_with_the_same_definition(store_url):
    with ResultStore(store_url) as store:
        first = _begin(store, "same")
        exp_id, resumed = store.begin_experiment(
            name="same", kind="compare", definition_hash="d1", baseline="status_quo", scenarios=["status_quo"],
            reps=2, base_seed=7, n_runs=2, code_version="test", options={})
        assert resumed and exp_id == first
        with pytest.raises(StoreError, match="different definition"):
            _begin(store, "same", definition="d2")
        store.finish_experiment(first, "complete")
        listed = store.list_experiments()
        assert listed[["name", "kind", "status"]].values.tolist() == [["same", "compare", "complete"]]


def test_unknown_experiment_lists_what_is_stored(store_url):
    with ResultStore(store_url) as store:
        _begin(store, "alpha")
        with pytest.raises(StoreError, match=r"No experiment named 'beta'.*alpha"):
            store.load_experiment("beta")


@pytest.mark.parametrize("bad", ["has space", "../escape", "", "-dash-first"])
def test_experiment_names_must_be_folder_safe(sqlite_url, bad):
    with ResultStore(sqlite_url) as store, pytest.raises(StoreError, match="not allowed"):
        _begin(store, bad)


def test_passwords_are_masked():
    url = "postgresql+psycopg://crsim:s3cr3t-pw@127.0.0.1:5432/db"
    assert "s3cr3t-pw" not in mask_url(url)
    assert "***" in mask_url(url)
    assert "s3cr3t-pw" not in mask_url("garbage://user:s3cr3t-pw@")


def test_unreachable_database_is_a_clear_error_without_the_password():
    with pytest.raises(StoreError) as info:
        ResultStore("postgresql+psycopg://crsim:s3cr3t-pw@127.0.0.1:1/nowhere", connect_timeout_seconds=2)
    message = str(info.value)
    assert "s3cr3t-pw" not in message
    assert "127.0.0.1:1" in message and "Cannot use the results database" in message


@pytest.mark.parametrize("url, message", [
    ("not a url", "not a database URL"),
    ("mysql://u:p@localhost/db", "Unsupported database"),
])
def test_bad_urls(url, message):
    with pytest.raises(StoreError, match=message):
        ResultStore(url)


def test_plain_postgresql_url_means_psycopg3():
    assert store_engine.resolve_url("postgresql://u:p@h/db").drivername == "postgresql+psycopg"


def _downgrade_to_schema_1(store: ResultStore, extra_metric: str) -> None:
    """Rewrite a store's metrics as schema version 1 had them (long, with the calendar in run_quarters),
    plus a metric the registry no longer has."""
    wide_table = store_module.run_metrics
    with store.engine.begin() as conn:
        wide = pd.DataFrame(conn.execute(sa.select(wide_table)).mappings().all())
        conn.exec_driver_sql("DROP TABLE run_metrics")
        conn.exec_driver_sql(
            "CREATE TABLE run_quarters (run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE, "
            "quarter INTEGER NOT NULL, time_years DOUBLE PRECISION, financial_year VARCHAR(16), "
            "PRIMARY KEY (run_id, quarter))")
        conn.exec_driver_sql(
            "CREATE TABLE run_metrics (run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE, "
            "quarter INTEGER NOT NULL, metric VARCHAR(64) NOT NULL, value DOUBLE PRECISION, "
            "PRIMARY KEY (run_id, quarter, metric))")
        calendar = wide[["run_id", "quarter", "time_years", "financial_year"]]
        conn.execute(sa.text("INSERT INTO run_quarters VALUES (:run_id, :quarter, :time_years, :financial_year)"),
                     calendar.to_dict("records"))
        wide[extra_metric] = wide["quarter"] * 10.0
        long = wide.melt(id_vars=["run_id", "quarter"], value_vars=[*store_module.METRIC_NAMES, extra_metric],
                         var_name="metric")
        rows = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
                for r in long.to_dict("records")]
        conn.execute(sa.text("INSERT INTO run_metrics VALUES (:run_id, :quarter, :metric, :value)"), rows)
        conn.execute(store_module.schema_info.update().where(store_module.schema_info.c.key == "schema_version")
                     .values(value="1"))


def test_a_schema_1_database_is_converted_in_place(store_url, result, other_result):
    with ResultStore(store_url) as store:
        exp_id = _begin(store)
        store.save_run(result, RunLink(exp_id, "status_quo", 0, 0), keep_snapshots=True)
        store.save_run(other_result, RunLink(exp_id, "status_quo", 0, 1), keep_snapshots=False)
        expected = store.load_experiment("e1")
        _downgrade_to_schema_1(store, "retired_metric")
    with ResultStore(store_url) as store:  # converts
        assert store.schema_version() == store_module.SCHEMA_VERSION == 2
        got = store.load_experiment("e1")
        columns = {c["name"] for c in sa.inspect(store.engine).get_columns("run_metrics")}
        tables = set(sa.inspect(store.engine).get_table_names())
    assert "metric" not in columns and "retired_metric" in columns
    assert "run_quarters" not in tables and "run_metrics_v1" not in tables
    want = expected.metrics.assign(retired_metric=expected.metrics["quarter"] * 10.0)
    pd.testing.assert_frame_equal(got.metrics, want, check_exact=True)
    pd.testing.assert_frame_equal(got.runs, expected.runs, check_exact=True)
    pd.testing.assert_frame_equal(got.snapshots, expected.snapshots, check_exact=True)
    pd.testing.assert_frame_equal(got.summary, expected.summary, check_exact=True)
    with ResultStore(store_url) as store:  # a second opening finds version 2 and changes nothing
        pd.testing.assert_frame_equal(store.load_experiment("e1").metrics, want, check_exact=True)


def test_metrics_new_to_the_database_get_columns(store_url, result, other_result):
    with ResultStore(store_url) as store:
        exp_id = _begin(store)
        store.save_run(result, RunLink(exp_id, "status_quo", 0, 0), keep_snapshots=False)
        with store.engine.begin() as conn:  # as if the database predated this registry metric
            conn.exec_driver_sql("ALTER TABLE run_metrics DROP COLUMN single_contract_share")
    with ResultStore(store_url) as store:  # opening adds it back, empty for the runs stored before
        extra = dataclasses.replace(other_result, metrics=other_result.metrics.assign(brand_new=1.5))
        store.save_run(extra, RunLink(exp_id, "status_quo", 0, 1), keep_snapshots=False)  # a metric unknown here
        metrics = store.load_experiment("e1").metrics
    assert list(metrics.columns[-2:]) == ["single_contract_share", "brand_new"]
    first, second = (metrics[metrics["replication"] == r] for r in (0, 1))
    assert first["single_contract_share"].isna().all()
    assert second["single_contract_share"].tolist() == other_result.metrics["single_contract_share"].tolist()
    assert first["brand_new"].isna().all() and (second["brand_new"] == 1.5).all()


def test_bulk_rows_clash_as_an_integrity_error(store_url, result):
    """The retry of a concurrent writer relies on it: COPY (PostgreSQL) and executemany (SQLite) alike."""
    with ResultStore(store_url) as store:
        exp_id = _begin(store)
        run_id = store.save_run(result, RunLink(exp_id, "status_quo", 0, 0), keep_snapshots=True)
        with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
            store_writing._insert_snapshots(conn, run_id, result.snapshots.iloc[:3])
        assert store.find_run(result.metadata["scenario_hash"], 7).has_snapshots


def test_a_new_sqlite_file_busy_in_another_connection_is_waited_for(tmp_path):
    """SQLite does not wait on its busy timeout to switch a file to WAL while another connection holds the
    write lock: opening a store then must wait and retry, not fail with "database is locked"."""
    db_file = tmp_path / "busy.db"
    holder = sqlite3.connect(db_file, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE other (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")  # a write lock: the store's switch to WAL cannot wait for it
    holder.execute("INSERT INTO other VALUES (1)")
    release = threading.Timer(0.5, holder.execute, args=("COMMIT",))
    release.start()
    try:
        with ResultStore(f"sqlite:///{db_file}") as store:
            assert store.schema_version() == store_module.SCHEMA_VERSION
    finally:
        release.join()
        holder.close()
    check = sqlite3.connect(db_file)
    assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    check.close()


def test_resuming_looks_runs_up_in_batches_not_one_query_per_run(store_url):
    """A fully stored experiment run again is all reuse, in a handful of statements rather than several
    per run (each a network round trip on a shared PostgreSQL store)."""
    scenario = load_scenario("status_quo", ["run.scale=0.02", "run.quarters=2"])
    with ResultStore(store_url) as store:
        first = run_plan(plan_compare([scenario], reps=300, name="first", snapshots="none"), store,
                         make_executor(workers=1))
        assert first.computed == 300
        statements: list[str] = []
        sa.event.listen(store.engine, "before_cursor_execute",
                        lambda conn, cursor, statement, *rest: statements.append(statement))
        again = run_plan(plan_compare([scenario], reps=300, name="again", snapshots="none"), store,
                         make_executor(workers=1))
        assert (again.computed, again.reused, again.status) == (0, 300, "complete")
        assert len(statements) < 30, statements[:40]
        links = store.load_runs(store.experiment_info("again")["id"])
        assert sorted(links["replication"]) == list(range(300))
        assert set(links["run_id"]) == set(store.load_runs(store.experiment_info("first")["id"])["run_id"])
