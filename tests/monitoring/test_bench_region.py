"""`bench_region` refuses the wrong targets and runs end to end on a tiny size with real workers
(PostgreSQL + Redis)."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection


@pytest.mark.django_db
def test_bench_region_runs_only_on_postgresql(settings):
    if connection.vendor == "postgresql":
        pytest.skip("the refusal of SQLite")
    with pytest.raises(CommandError, match="PostgreSQL only"):
        call_command("bench_region", "--rows", "10", stdout=io.StringIO())


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_region_prints_the_figures_on_a_tiny_size(settings, monkeypatch):
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
        call_command("bench_region", "--rows", "10", stdout=io.StringIO())
    out = io.StringIO()
    args = ["--rows", "6000", "--persons", "600", "--repeat", "1", "--engine-bills", "500"]
    args += ["--new-rows", "50", "--list-requests", "3", "--import-rows", "900"]
    call_command("bench_region", *args, "--force", stdout=out, stderr=io.StringIO())
    figures = json.loads(out.getvalue())
    assert figures["areas"] == 12
    assert figures["scan_rows_scanned"] == 3000  # 2023's half
    assert len(figures["scan_1_worker_seconds"]) == len(figures["scan_2_worker_seconds"]) == 1
    assert figures["simulation_1_worker"]["bills"] == figures["simulation_2_worker"]["bills"] > 0
    assert figures["simulation_2_worker"]["chunks"] >= 2
    assert figures["engine"]["bills_per_second"] > 0
    assert figures["scan_speedup_2_vs_1_workers"] > 0
    assert figures["scan_first_run_seconds"] > 0 and figures["burden_query_vs_bare_ratio"] > 0
    incremental = figures["incremental_scan"]
    assert incremental["mode"] == "incremental" and 0 < incremental["new_rows"] <= 50
    assert incremental["rows_scanned"] >= incremental["new_rows"]
    assert figures["register_persons"]["persons_in_register"] >= 600
    listing = figures["person_list"]
    for user in ("district", "regional"):
        for case in ("list", "surname", "name_prefix", "full_name", "id_number"):
            assert listing[f"{user}_{case}"]["p95_ms"] >= listing[f"{user}_{case}"]["p50_ms"] > 0
    assert set(figures["phase_seconds"]) >= {"generate", "incremental_scan", "person_list"}
    assert figures["import_rows"] == 900
    assert figures["import_ratio_to_floor"] > 0 and figures["import_rows_per_second"] > 0
    # The import's rows were removed again; the incremental phase's rows came with their keys.
    from monitoring.models import Settlement, SettlementKey

    added = incremental["new_rows"]
    assert Settlement.objects.count() == SettlementKey.objects.count() == 6000 + added
