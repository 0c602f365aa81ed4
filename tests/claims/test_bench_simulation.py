"""`bench_simulation` refuses the wrong targets and runs end to end on a tiny size with real
workers (PostgreSQL + Redis)."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection


@pytest.mark.django_db
def test_bench_simulation_runs_only_on_postgresql():
    if connection.vendor == "postgresql":
        pytest.skip("the refusal of SQLite")
    with pytest.raises(CommandError, match="PostgreSQL only"):
        call_command("bench_simulation", "--rows", "10", stdout=io.StringIO())


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_simulation_prints_the_figures_on_a_tiny_size(settings, monkeypatch):
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs PostgreSQL and Redis (CI)")
    db = connection.settings_dict
    # The command's workers inherit the environment: point them at the test database.
    monkeypatch.setenv(
        "DATABASE_URL",
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
    )
    from config.celery import app

    app.conf.task_always_eager = False
    with pytest.raises(CommandError, match="bench"):
        call_command("bench_simulation", "--rows", "10", stdout=io.StringIO())
    out = io.StringIO()
    args = ["--rows", "3000", "--persons", "600", "--range-persons", "100"]
    call_command(
        "bench_simulation", *args, "--engine-bills", "500", "--force", stdout=out,
        stderr=io.StringIO(),
    )  # fmt: skip
    figures = json.loads(out.getvalue())
    # 3000 rows of 600 persons: the second pass (rows 600–1199) reverses every 20th of the first.
    assert (figures["rows"], figures["persons"], figures["reversals"]) == (3000, 600, 30)
    one, two = figures["simulation_1_worker"], figures["simulation_2_worker"]
    assert one["bills"] == two["bills"] == 3000 - 2 * 30  # netted: a reversal and its original
    assert one["persons"] == two["persons"] == 600
    assert one["difference"] == two["difference"]
    assert two["chunks"] == 6
    assert figures["engine"]["bills_per_second"] > 0
    assert figures["engine"]["bills_per_second_no_gc"] > 0
    assert set(figures["targets"]) == {
        "two_workers_at_most_150_seconds_at_10m_rows",
        "speedup_at_least_1_6",
        "per_worker_at_least_0_7_engine",
    }
