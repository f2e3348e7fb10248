"""changedetection.io's side of bench/watch_vs_changedetection.py: one first check of every
watch, timed, in this process.

Runs with the Python of a separate virtual environment that has changedetection.io installed
(the benchmark creates it); it imports nothing of Shelfwatch. It does what changedetection.io's
own batch mode (`changedetection.py -b -u URL ...`) does, minus the web server:

1. a `changedetectionio.store.ChangeDetectionStore` in a fresh datastore directory, without
   the default watches, and the built-in restock plugins registered
   (`pluggy_interface.register_builtin_restock_plugins`, `inject_datastore_into_plugins`);
2. one watch per URL (`ChangeDetectionStore.add_watch`) with the restock processor
   (`processor: restock_diff`) and the plain HTTP fetcher (`fetch_backend: html_requests`,
   python-requests, no browser);
3. `flask_app.changedetection_app(...)` in batch mode, which starts FETCH_WORKERS update
   workers (`worker_pool.start_workers`, each running `worker.async_update_worker`) and no
   ticker, notification runner or version check;
4. timed: every watch queued on `flask_app.update_q` (`worker_pool.queue_item_async_safe`,
   a `queuedWatchMetaData.PrioritizedItem` each, as its batch mode queues them), until every
   watch has finished its first check (its `check_count` is 1; the worker sends the
   `watch_check_update` signal when it is done with a watch).

Printed: one JSON line with the count of checks, wall seconds, and the CPU seconds of this
process (all its threads) and of its reaped children over the timed part.

    <cdio venv>/bin/python bench/cdio_driver.py --urls-file URLS.json --workers 5 \
        --datastore DIR [--timeout 600]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls-file", required=True)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--datastore", required=True)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()

    # Read at import time by changedetection.io's modules, so set before importing them.
    os.environ["FETCH_WORKERS"] = str(args.workers)
    os.environ["ALLOW_IANA_RESTRICTED_ADDRESSES"] = "true"  # the pages are on 127.0.0.1
    os.environ.setdefault("DISABLE_VERSION_CHECK", "true")

    from loguru import logger

    # Its command line logs at DEBUG unless told otherwise; Shelfwatch's side logs warnings
    # only, so this side does too (less the notice that a display locale is not installed).
    logger.remove()
    logger.add(
        sys.stderr,
        level=args.log_level,
        filter=lambda record: not record["message"].startswith("Unable to set locale"),
    )

    import changedetectionio
    from blinker import signal
    from changedetectionio import queuedWatchMetaData, store, worker_pool
    from changedetectionio.pluggy_interface import (
        inject_datastore_into_plugins,
        register_builtin_restock_plugins,
    )

    urls = json.loads(Path(args.urls_file).read_text())
    os.makedirs(args.datastore, exist_ok=True)
    datastore = store.ChangeDetectionStore(
        datastore_path=args.datastore,
        include_default_watches=False,
        version_tag=changedetectionio.__version__,
    )
    register_builtin_restock_plugins()
    inject_datastore_into_plugins(datastore)
    uuids = []
    for url in urls:
        uuid = datastore.add_watch(
            url=url, extras={"processor": "restock_diff", "fetch_backend": "html_requests"}
        )
        if not uuid:
            raise SystemExit(f"changedetection.io refused the watch {url}")
        uuids.append(uuid)

    done: set[str] = set()
    finished = threading.Event()
    last_done = [0.0]
    lock = threading.Lock()
    watching = datastore.data["watching"]

    def on_update(sender=None, watch_uuid=None, **_: object) -> None:
        # Sent when a worker starts a watch and again when it is done with it.
        watch = watching.get(watch_uuid)
        if watch is None or not watch.get("check_count"):
            return
        with lock:
            if watch_uuid not in done:
                done.add(watch_uuid)
                last_done[0] = time.perf_counter()
                if len(done) == len(uuids):
                    finished.set()

    signal("watch_check_update").connect(on_update, weak=False)

    from changedetectionio import flask_app

    app = flask_app.changedetection_app(
        {"datastore_path": args.datastore, "batch_mode": True}, datastore
    )
    time.sleep(1.0)  # the workers' threads and event loops start

    started, (cpu_self, cpu_kids) = time.perf_counter(), _cpu()
    for uuid in uuids:
        worker_pool.queue_item_async_safe(
            flask_app.update_q,
            queuedWatchMetaData.PrioritizedItem(priority=1, item={"uuid": uuid}),
            silent=True,
        )
    completed = finished.wait(args.timeout)
    ended = last_done[0] if completed else time.perf_counter()
    end_self, end_kids = _cpu()

    checked = [watching[u] for u in uuids if watching[u].get("check_count")]
    errors = [w.get("last_error") for w in checked if w.get("last_error")]
    restock = [dict(w.get("restock") or {}) for w in checked]
    result = {
        "system": "changedetection.io",
        "version": changedetectionio.__version__,
        "watches": len(uuids),
        "checks": len(checked),
        "completed": completed,
        "wall": round(ended - started, 3),
        "cpu_self": round(end_self - cpu_self, 3),
        "cpu_children": round(end_kids - cpu_kids, 3),
        "with_price": sum(1 for r in restock if r.get("price") is not None),
        "with_stock": sum(1 for r in restock if r.get("in_stock") is not None),
        "errors": len(errors),
        "first_error": str(errors[0])[:300] if errors else "",
        "workers": worker_pool.get_worker_count(),
    }
    print(json.dumps(result), flush=True)
    app.config.exit.set()
    worker_pool.shutdown_workers()
    # Its worker threads and queues are daemon threads that need not be waited for.
    os._exit(0)


if __name__ == "__main__":
    main()
