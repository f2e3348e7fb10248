"""A worker killed mid-import (SIGKILL) leaves a job that another worker resumes after its
last committed batch, with no row applied twice."""

from __future__ import annotations

import io

import pytest

from shelfwatch.catalog.barcodes import check_digit
from tests.ops.processes import alive, descendants, kill_tree
from tests.processes import running, wait_for, wait_for_dead_sessions

pytestmark = [pytest.mark.multiprocess, pytest.mark.django_db(transaction=True)]

ROWS = 600


def gtin(n: int) -> str:
    body = f"890{n:09d}"
    return body + str(check_digit(body))


def grocery_csv() -> bytes:
    lines = ["Product Name,Brand,EAN,Qty,MRP,Net Quantity"]
    for n in range(ROWS):
        lines.append(f"Test Pulse {n},Brand{n % 13},{gtin(n)},{n % 7 + 1},Rs. {20 + n},500 g")
    return ("\n".join(lines) + "\n").encode()


def test_a_worker_killed_mid_job_is_resumed_by_another_with_every_row_applied_once(
    subprocess_env, tmp_path, make_user, store_a
):
    from shelfwatch.accounts.models import StoreMembership
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.accounts.user_cache import active_user
    from shelfwatch.catalog.models import Product
    from shelfwatch.imports.models import ImportJob, ImportRow
    from shelfwatch.imports.tasks import resume_stalled_imports
    from shelfwatch.imports.uploads import start_import
    from shelfwatch.inventory.models import StockItem, StockMovement

    staff = make_user("importer@example.com")
    StoreMembership.objects.create(user=staff, store=store_a, role="staff")
    principal = Principal.of(active_user(staff.pk), "test")
    content = grocery_csv()
    job = start_import(
        store=store_a, principal=principal, upload=io.BytesIO(content), size=len(content)
    )
    env = {**subprocess_env, "IMPORT_BATCH_SIZE": "25", "IMPORT_LEASE_SECONDS": "2"}
    env["LOG_LEVEL"] = "WARNING"

    def progress() -> ImportJob:
        return ImportJob.objects.get(pk=job.pk)

    with running(["worker"], env, tmp_path / "worker-1.log") as first:
        wait_for(lambda: progress().processed >= 100, timeout=120)
        tree = [first.pid, *descendants(first.pid)]
        # The whole tree: RQ runs each job in a forked work horse of its own.
        kill_tree(first.pid)
        first.wait(10)
        wait_for(lambda: not any(alive(pid) for pid in tree), timeout=10)
    wait_for_dead_sessions()
    killed = progress()
    assert killed.status == "running", "the kill should land mid-job"
    assert 100 <= killed.processed < ROWS and killed.processed % 25 == 0
    # Exactly what the committed batches covered, nothing of the batch the kill cut short.
    assert ImportRow.objects.filter(job=job).count() == killed.processed
    assert StockItem.objects.filter(store=store_a).count() == killed.processed

    # The periodic sweep finds the lapsed lease and hands the job to the next worker.
    wait_for(lambda: resume_stalled_imports.call()["resumed"] == 1, timeout=30, interval=0.5)
    with running(["worker"], env, tmp_path / "worker-2.log"):
        wait_for(lambda: progress().status == "completed", timeout=180)

    done = progress()
    assert (done.total_rows, done.processed, done.successful, done.failed) == (ROWS, ROWS, ROWS, 0)
    lines = list(ImportRow.objects.filter(job=job).values_list("line", flat=True))
    assert sorted(lines) == list(range(2, ROWS + 2))
    assert Product.objects.count() == ROWS
    items = StockItem.objects.filter(store=store_a).select_related("product")
    assert items.count() == ROWS
    expected = {gtin(n): n % 7 + 1 for n in range(ROWS)}
    assert {item.product.barcode: item.quantity for item in items} == expected
    # One ledger row per item: no batch was applied twice.
    assert StockMovement.objects.filter(reason="import").count() == ROWS
