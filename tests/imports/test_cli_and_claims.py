"""`shelfwatch import` as a real process, and one worker per job under a race."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection

from tests.ops.processes import run_shelfwatch

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(make_user, store_a):
    from shelfwatch.accounts.models import StoreMembership

    user = make_user("cli-importer@example.com")
    StoreMembership.objects.create(user=user, store=store_a, role="owner")
    return user


def test_the_import_command_runs_a_file_with_progress_and_counts(
    subprocess_env, tmp_path, store_a, staff
):
    from shelfwatch.imports.models import ImportJob
    from shelfwatch.inventory.models import StockItem

    path = tmp_path / "stock.csv"
    rows = "".join(f"Item {n}|{n}|Rs. {n + 10}\n" for n in range(5))
    path.write_text("Item Name|Closing Stock|Rate|Notes\n" + rows.replace("\n", "|x\n"))
    env = {**subprocess_env, "IMPORT_BATCH_SIZE": "2", "LOG_LEVEL": "WARNING"}
    args = ["import", str(store_a.pk), str(path), "--user", staff.email, "--map", "Notes="]
    preview = run_shelfwatch([*args, "--preview"], env)
    assert preview.returncode == 0, preview.stderr
    shown = json.loads(preview.stdout)
    assert shown["delimiter"] == "|" and "Notes" not in shown["mapping"]
    assert ImportJob.objects.count() == 0

    result = run_shelfwatch(args, env)
    assert result.returncode == 0, result.stdout + result.stderr
    progress = [line for line in result.stdout.splitlines() if "rows," in line]
    assert [line.split(": ")[1].split(" ")[0] for line in progress] == ["2/5", "4/5", "5/5"]
    assert "completed: 5 imported, 0 failed" in result.stdout
    assert sorted(StockItem.objects.values_list("quantity", flat=True)) == [0, 1, 2, 3, 4]

    again = run_shelfwatch(args, env)
    assert again.returncode == 1 and "duplicate_file" in again.stderr
    elsewhere = run_shelfwatch(["import", "987654", str(path), "--user", staff.email], env)
    assert elsewhere.returncode == 1 and "store_not_found" in elsewhere.stderr
    nobody = run_shelfwatch(["import", str(store_a.pk), str(path), "--user", "no@example.com"], env)
    assert nobody.returncode == 2 and "no such active user" in nobody.stderr

    queued = run_shelfwatch([*args, "--allow-repeat", "--enqueue"], env)
    assert queued.returncode == 0 and "queued" in queued.stdout
    latest = ImportJob.objects.order_by("-pk").first()
    assert (ImportJob.objects.count(), latest.status, latest.processed) == (2, "queued", 0)


def test_two_workers_racing_for_one_job_one_claims_it(store_a, staff):
    import io

    from shelfwatch.accounts.principal import Principal
    from shelfwatch.accounts.user_cache import active_user
    from shelfwatch.imports.lifecycle import claim_job
    from shelfwatch.imports.uploads import start_import

    content = b"name,qty\nDal,5\n"
    job = start_import(
        store=store_a,
        principal=Principal.of(active_user(staff.pk), "test"),
        upload=io.BytesIO(content),
        size=len(content),
        enqueue=False,
    )
    barrier = threading.Barrier(6)
    claimed: list[str] = []

    def claim(owner: str) -> None:
        try:
            barrier.wait()
            if claim_job(job.pk, owner=owner) is not None:
                claimed.append(owner)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(f"w{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(claimed) == 1
    job.refresh_from_db()
    assert (job.status, job.lease_owner) == ("running", claimed[0])
    # A live lease keeps it: nobody else may take it over.
    assert claim_job(job.pk, owner="late") is None
