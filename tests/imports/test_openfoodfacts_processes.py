"""The Open Food Facts commands as real processes, and a worker killed mid-dump (SIGKILL)
whose job another worker finishes with every line applied once."""

from __future__ import annotations

import json

import pytest

from tests.fakes.openfoodfacts import DATA, OpenFoodFactsFake
from tests.ops.processes import alive, descendants, kill_tree, run_shelfwatch
from tests.processes import running, wait_for, wait_for_dead_sessions

pytestmark = [pytest.mark.multiprocess, pytest.mark.django_db(transaction=True)]

CSV_EXPORT = DATA / "csv_export_sample.csv"
JSONL_DUMP = DATA / "products.jsonl.gz"


@pytest.fixture
def admin(make_user):
    return make_user("catalog-admin@example.com", admin=True)


def test_import_off_runs_a_dump_with_progress_lines_and_counts(subprocess_env, admin):
    from shelfwatch.catalog.models import Product
    from shelfwatch.imports.models import ImportJob

    env = {**subprocess_env, "IMPORT_BATCH_SIZE": "50", "LOG_LEVEL": "WARNING"}
    args = ["import-off", str(JSONL_DUMP), "--country", "en:france", "--user", admin.email]
    result = run_shelfwatch(args, env)
    assert result.returncode == 0, result.stdout + result.stderr
    progress = [line for line in result.stdout.splitlines() if " lines, " in line]
    assert [line.split(": ")[1].split(" ")[0] for line in progress] == [
        "50/201",
        "100/201",
        "150/201",
        "200/201",
        "201/201",
    ]
    job = ImportJob.objects.get()
    assert f"import {job.pk} completed: {job.successful} imported" in result.stdout
    assert f"{job.filtered_out} filtered out" in result.stdout
    assert Product.objects.count() == job.successful > 100

    bad = run_shelfwatch([*args[:2], "--country", "in dia,", "--user", admin.email], env)
    assert bad.returncode == 1 and "invalid_filter" in bad.stderr
    queued = run_shelfwatch([*args, "--enqueue"], env)
    assert queued.returncode == 0 and "queued" in queued.stdout
    assert ImportJob.objects.order_by("-pk").first().status == "queued"


def test_off_lookup_asks_the_api_once_and_then_the_catalog(subprocess_env, admin):
    with OpenFoodFactsFake() as fake:
        env = {
            **subprocess_env,
            "OFF_BASE_URL": fake.base_url,
            "OFF_CONTACT_EMAIL": "catalog@example.com",
            "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
            "LOG_LEVEL": "WARNING",
        }
        found = run_shelfwatch(["off-lookup", "7622210288257"], env)
        assert found.returncode == 0, found.stderr
        shown = json.loads(found.stdout)
        assert (shown["created"], shown["status"]) == (True, "pending")
        assert shown["name"] == "Grand Arôme"
        assert (shown["net_quantity"], shown["net_unit"]) == ("800.000", "g")
        assert shown["regional_names"] == {"fr-FR": "Grand Arôme"}
        again = run_shelfwatch(["off-lookup", "7622210288257"], env)
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["created"] is False
        unknown = run_shelfwatch(["off-lookup", "4006381333931"], env)
        assert unknown.returncode == 1 and "unknown_barcode" in unknown.stderr
        assert len(fake.calls()) == 2


def test_a_worker_killed_mid_dump_is_resumed_by_another_with_every_line_applied_once(
    subprocess_env, tmp_path, admin
):
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.accounts.user_cache import active_user
    from shelfwatch.catalog.models import Product
    from shelfwatch.imports.models import ImportJob, ImportRow
    from shelfwatch.imports.openfoodfacts.jobs import start_dump_import
    from shelfwatch.imports.tasks import resume_stalled_imports

    principal = Principal.of(active_user(admin.pk), "test")
    job = start_dump_import(principal=principal, path=CSV_EXPORT)
    env = {**subprocess_env, "IMPORT_BATCH_SIZE": "5", "IMPORT_LEASE_SECONDS": "2"}
    env["LOG_LEVEL"] = "WARNING"

    def progress() -> ImportJob:
        return ImportJob.objects.get(pk=job.pk)

    with running(["worker"], env, tmp_path / "worker-1.log") as first:
        wait_for(lambda: progress().processed >= 50, timeout=120, interval=0.02)
        tree = [first.pid, *descendants(first.pid)]
        kill_tree(first.pid)
        first.wait(10)
        wait_for(lambda: not any(alive(pid) for pid in tree), timeout=10)
    wait_for_dead_sessions()
    killed = progress()
    assert killed.status == "running", "the kill should land mid-job"
    assert 50 <= killed.processed < 317 and killed.processed % 5 == 0
    recorded = ImportRow.objects.filter(job=job).count()
    assert recorded == killed.successful + killed.failed + killed.skipped
    assert Product.objects.count() == killed.successful

    wait_for(lambda: resume_stalled_imports.call()["resumed"] == 1, timeout=30, interval=0.5)
    with running(["worker"], env, tmp_path / "worker-2.log"):
        wait_for(lambda: progress().status == "completed", timeout=180)
    done = progress()
    assert done.processed == done.total_rows == 317
    lines = list(ImportRow.objects.filter(job=job).values_list("line", flat=True))
    assert len(lines) == len(set(lines)) == done.successful + done.failed + done.skipped
    assert Product.objects.count() == done.successful
    # No line was applied twice: a second application would have found its own product.
    assert not ImportRow.objects.filter(job=job, status="matched").exists()
