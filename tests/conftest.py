"""Fixtures shared by the experiment tests: result databases on SQLite and a real PostgreSQL server.

PostgreSQL: the URL comes from ``CRSIM_TEST_POSTGRES_URL`` (``.ci/start_postgres.sh`` starts a server and
prints it). Unset locally, the PostgreSQL variants skip; unset in CI (``CI=true``) they fail, so a CI run
can never pass without having tested the shared store. Each test gets its own PostgreSQL schema, dropped
afterwards, so tests neither see nor clean up each other's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_ENV = "CRSIM_TEST_POSTGRES_URL"


@pytest.fixture(autouse=True)
def _nothing_kept_from_another_test() -> None:
    """Each test settles its own starts and fits its own drivers (runs within a test still share them): a
    start or a surrogate kept from an earlier test would hide what this one patches, and every mutant
    mutmut runs in a forked process."""
    from sim.start_cache import CACHE
    from sim.uncertainty.drivers import forget_results

    CACHE.clear()
    forget_results()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'results.db'}"


def _postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        message = (f"{POSTGRES_ENV} is not set: start a server with `bash .ci/start_postgres.sh` and export "
                   "the URL it prints")
        if IN_CI:
            pytest.fail(f"PostgreSQL tests must run in CI: {message}.")
        pytest.skip(message)
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search path is a fresh schema of its own."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    base = make_url(_postgres_base_url())
    if base.drivername in ("postgresql", "postgres"):
        base = base.set(drivername="postgresql+psycopg")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = base.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request) -> str:
    """Each store test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")
