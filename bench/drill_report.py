"""The failure drill's verdicts and figures: invariants checked against the audit, error
rate and p99 latency per fault window.

Used by failure_drill.py; not run on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from inner_process import percentile
from tables import render_table

SETTLE_AFTER = 2.0  # seconds after a process is back before "after" starts
AFTER_SECONDS = 20.0


@dataclass
class Fault:
    name: str
    at: float  # wall clock: the kill
    back: float  # wall clock: the process answers again


@dataclass
class Verdict:
    name: str
    ok: bool
    detail: str


def window(records, start: float, end: float) -> list[str]:
    """Requests, error rate and p99 of the requests that ended in [start, end): a request in
    flight when a process is killed fails at the kill, so it counts in the fault's window."""
    picked = [r for r in records if start <= r.at + r.ms / 1000 < end]
    if not picked:
        return ["0", "-", "-"]
    errors = sum(r.error for r in picked)
    return [
        f"{len(picked):,}",
        f"{100 * errors / len(picked):.2f} %",
        f"{percentile([r.ms for r in picked], 99):.0f}",
    ]


def fault_rows(outcome: dict) -> list[list[str]]:
    records = outcome["load"].records
    faults = sorted(outcome["faults"], key=lambda f: f.at)
    rows = []
    first = faults[0].at if faults else outcome["ended"]
    rows.append(
        [
            "before any fault",
            f"0-{first - outcome['started']:.0f}",
            "-",
            *window(records, outcome["started"], first),
            "",
            "",
            "",
        ]
    )
    for n, fault in enumerate(faults):
        nxt = faults[n + 1].at if n + 1 < len(faults) else outcome["ended"]
        after_start = fault.back + SETTLE_AFTER
        after_end = min(nxt, after_start + AFTER_SECONDS, outcome["ended"])
        rows.append(
            [
                fault.name,
                f"{fault.at - outcome['started']:.0f}",
                f"{fault.back - fault.at:.1f}",
            ]
            + window(records, fault.at, after_start)
            + (
                window(records, after_start, after_end)
                if after_end > after_start
                else ["0", "-", "-"]
            )
        )
    rows.append(
        [
            "whole run",
            f"0-{outcome['ended'] - outcome['started']:.0f}",
            "-",
            *window(records, outcome["started"], outcome["ended"] + 1),
            "",
            "",
            "",
        ]
    )
    return rows


def _digits(address: str) -> str:
    return "".join(ch for ch in address if ch.isdigit())


def check(
    *,
    audit: dict,
    outcome: dict,
    wanted: dict[str, int],
    whatsapp: dict[str, int],
    email: dict[str, int],
    send_threads: int,
    unexpected: dict,
) -> list[Verdict]:
    verdicts = []
    sale = audit["sale"]
    from drill_app import FLASH_STOCK

    oversold = (
        audit["ledger_mismatched"]
        or audit["negative_items"]
        or sale["sold_lines"] > sale["allotted"]
        or sale["sold"] > sale["allotted"]
        or sale["all_lines"] > FLASH_STOCK
        or sale["all_lines"] + sale["stock_left"] != FLASH_STOCK
    )
    verdicts.append(
        Verdict(
            "no oversell (ledger audit)",
            not oversold,
            f"{audit['items']} items, ledger != quantity on {len(audit['ledger_mismatched'])} "
            f"{audit['ledger_mismatched'][:3]}, below zero {audit['negative_items']}; flash sale "
            f"sold {sale['sold_lines']} of {sale['allotted']} allotted (counter {sale['sold']}, "
            f"held {sale['held']}); the product sold {sale['all_lines']} of {FLASH_STOCK} in "
            f"stock, {sale['stock_left']} left",
        )
    )

    load = outcome["load"]
    attempts, orders = audit["attempts"], set(audit["orders"])
    lost = [k for k, oid in load.orders_seen.items() if attempts.get(k) != oid or oid not in orders]
    unseen = [k for k in attempts if k not in load.orders_seen]
    verdicts.append(
        Verdict(
            "no lost order (idempotency keys)",
            not lost and len(orders) == len(attempts),
            f"{len(load.orders_seen)} checkouts seen to succeed, {len(lost)} missing or "
            f"different; {len(orders)} orders in the store, {len(attempts)} keys with an order, "
            f"{len(unseen)} orders whose success no client saw (keys given up: "
            f"{len(load.keys_abandoned)}); customers stopped on {load.customer_stops}",
        )
    )

    rows = audit["notifications"]
    per_pair: dict[tuple, int] = {}
    received, statuses = [], {}
    for channel, address, status, subscription, event in rows:
        per_pair[(subscription, event)] = per_pair.get((subscription, event), 0) + 1
        statuses[status] = statuses.get(status, 0) + 1
        got = (
            whatsapp.get(_digits(address), 0)
            if channel == "whatsapp"
            else email.get(address.lower(), 0)
        )
        received.append(got)
    restock_at = outcome["info"].get("restocked_at", 0.0)
    kills = sum(1 for f in outcome["faults"] if f.name.startswith("worker") and f.at >= restock_at)
    bound = send_threads * kills
    never = sum(1 for n in received if n == 0)
    extra = sum(n - 1 for n in received if n > 1)
    doubled_rows = sum(1 for n in per_pair.values() if n > 1)
    subscribers = outcome["subscribers"]
    verdicts.append(
        Verdict(
            "notifications: none lost, doubles within bound",
            len(per_pair) == subscribers and not doubled_rows and never == 0 and extra <= bound,
            f"{len(per_pair)} (subscription, event) rows for {subscribers} subscribers "
            f"({doubled_rows} with more than one row), statuses {statuses}; at the fake "
            f"providers {len(received) - never} received, {never} never, {extra} received "
            f"twice or more (bound {send_threads} sender threads x {kills} worker kills "
            f"while delivering = {bound})",
        )
    )

    job = audit["import"]
    wrong_qty = sum(1 for code, qty in wanted.items() if job["imported"].get(code) != qty)
    import_ok = (
        job["status"] == "completed"
        and job["total_rows"] == len(wanted) == job["processed"] == job["rows"]
        and job["distinct_lines"] == job["rows"]
        and job["doubled_moves"] == 0
        and wrong_qty == 0
    )
    verdicts.append(
        Verdict(
            "import complete, no row applied twice",
            import_ok,
            f"status {job['status']}, {job['processed']} of {job['total_rows']} rows processed "
            f"({job['successful']} ok, {job['failed']} failed, {job['skipped']} skipped), "
            f"{job['rows']} row outcomes on {job['distinct_lines']} lines, items moved twice "
            f"{job['doubled_moves']}, items not at the file's quantity {wrong_qty}",
        )
    )

    by_topic = audit["events_by_topic"]
    expected = set()
    for ids in by_topic.values():
        expected.update(ids)
    missing = dupes = truncated = connects = 0
    for client in outcome["sse"]:
        got = set(client.received)
        missing += len(expected - got)
        dupes += len(client.received) - len(got)
        truncated += client.truncated
        connects += client.connects
    clients = len(outcome["sse"])
    verdicts.append(
        Verdict(
            "SSE: every event delivered across reconnects",
            missing == 0 and truncated == 0,
            f"{len(expected)} events on the topics x {clients} clients, {connects} connections "
            f"({connects - clients} reconnects with Last-Event-ID, "
            f"{sum(c.failed_connects for c in outcome['sse'])} failed attempts); missing "
            f"{missing}, duplicates {dupes}, replays truncated {truncated}",
        )
    )
    redis = [f for f in outcome["faults"] if f.name.startswith("Redis")]
    with_redis, other = [], []
    for name, exits in unexpected.items():
        for code, when in exits:
            near = any(f.at - 1 <= when <= f.back + 10 for f in redis)
            (with_redis if near else other).append(f"{name} exit {code}")
    verdicts.append(
        Verdict(
            "no process died unless killed (or with Redis)",
            not other,
            f"exited on their own: {other or 'none'}; exited when Redis went away and were "
            f"restarted by the supervisor: {with_redis or 'none'}",
        )
    )
    verdicts.append(
        Verdict(
            "everything settled",
            bool(outcome["settled"].get("settled")),
            f"{outcome['settled']}",
        )
    )
    return verdicts


def _s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.1f} s"


def print_report(args, outcome: dict, verdicts: list[Verdict]) -> None:
    load = outcome["load"]
    print(f"\nload: {outcome['ended'] - outcome['started']:.0f} s, {len(load.records):,} requests")
    kinds: dict[str, list] = {}
    for r in load.records:
        kinds.setdefault(r.kind, []).append(r)
    rows = [
        [
            k,
            f"{len(rs):,}",
            f"{sum(r.error for r in rs):,}",
            f"{percentile([r.ms for r in rs], 50):.0f}",
            f"{percentile([r.ms for r in rs], 99):.0f}",
        ]
        for k, rs in sorted(kinds.items())
    ]
    print(render_table(["kind", "requests", "errors", "p50 ms", "p99 ms"], rows))
    failed: dict[str, int] = {}
    for r in load.records:
        if r.error:
            key = f"{r.kind} {r.status or 'no answer'}"
            failed[key] = failed.get(key, 0) + 1
    print(f"errors by kind and status: {failed or 'none'}")
    print(
        "\nper fault window (during: from the kill until 2 s after the process answers "
        f"again; after: the next {AFTER_SECONDS:.0f} s or until the next fault):\n"
    )
    header = [
        "window",
        "at s",
        "down s",
        "during req",
        "during err",
        "during p99 ms",
        "after req",
        "after err",
        "after p99 ms",
    ]
    print(render_table(header, fault_rows(outcome)))
    lag = outcome["audit"]["dispatch"]
    print(
        f"\nevent dispatch: {lag['events']:,} events, p50 {_s(lag['lag_p50'])} and at most "
        f"{_s(lag['lag_max'])} from commit to dispatched, {lag['undispatched']} left; "
        f"restock to first alert sent {_s(lag['restock_to_first_send'])}, to the last "
        f"{_s(lag['restock_to_last_send'])}"
    )
    print("\ninvariants:")
    for v in verdicts:
        print(f"  [{'ok' if v.ok else 'FAIL'}] {v.name}: {v.detail}")
