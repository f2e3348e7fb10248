"""A barcode repeated anywhere in a file is reported with the line it was first on, and
what is kept to tell does not grow the worker's memory with the file."""

from __future__ import annotations

import tracemalloc

import pytest

from shelfwatch.imports.first_lines import FirstLines
from shelfwatch.imports.models import ImportRow


def _ean(body: str) -> str:
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


@pytest.mark.django_db
def test_a_barcode_repeated_batches_later_names_its_first_line(upload, run, settings):
    settings.IMPORT_BATCH_SIZE = 3
    lines = ["Product Name,Qty,EAN"]
    lines += [f"Product {n},5,{_ean(f'890{n:09d}')}" for n in range(10)]
    lines += [f"Again,7,{_ean('890000000002')}", f"Again and again,7,{_ean('890000000002')}"]
    job = run(upload(("\n".join(lines) + "\n").encode()).json()["id"])
    assert job.status == "completed"
    outcomes = {row.line: row for row in ImportRow.objects.filter(job=job)}
    assert (job.successful, job.failed) == (10, 2)
    for line in (12, 13):
        assert outcomes[line].code == "repeated_barcode"
        assert "also on line 4;" in outcomes[line].message  # the first, not the second


def test_barcodes_met_are_kept_outside_the_worker_memory():
    codes = [_ean(f"890{n:09d}") for n in range(100_000)]
    tracemalloc.start()
    try:
        with FirstLines() as seen:
            for start in range(0, len(codes), 500):
                seen.remember(
                    (code, start + i + 2) for i, code in enumerate(codes[start : start + 500])
                )
            kept, _ = tracemalloc.get_traced_memory()
            assert seen.earlier([codes[0], codes[-1], _ean("123456789012")]) == {
                codes[0]: 2,
                codes[-1]: 100_001,
            }
            seen.remember([(codes[0], 999)])  # a later line never replaces the first
            assert seen.earlier([codes[0]]) == {codes[0]: 2}
    finally:
        tracemalloc.stop()
    # A dict of 100,000 barcodes would hold over 10 MB of Python objects.
    assert kept < 1_000_000


def test_a_batch_asks_for_all_its_barcodes_at_once_however_many():
    codes = [_ean(f"890{n:09d}") for n in range(1_200)]
    with FirstLines() as seen:
        seen.remember((code, n + 2) for n, code in enumerate(codes[::2]))
        found = seen.earlier([*codes, codes[0]])
        assert seen.earlier([]) == {}
    assert found == {code: n + 2 for n, code in enumerate(codes[::2])}
