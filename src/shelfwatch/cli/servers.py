"""The server and background-process commands: serve, web, stream, front, worker, scheduler."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading
from typing import TYPE_CHECKING

import django

if TYPE_CHECKING:
    from shelfwatch.ops.supervisor import ChildSpec


def cmd_serve(args: argparse.Namespace) -> int:
    """Run what `serve_children` lists under one supervisor until stopped, migrating the embedded
    database first; returns the exit status (2 for a bad `--task-workers`)."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from shelfwatch.ops.servers import fresh_metrics_dir
    from shelfwatch.ops.supervisor import Supervisor

    if args.task_workers < 1:
        print("--task-workers must be at least 1", file=sys.stderr)
        return 2
    django.setup()
    if settings.EMBEDDED:
        print("Preparing the embedded database...", flush=True)
        call_command("migrate", interactive=False, verbosity=1)
        call_command("createcachetable", verbosity=1)
        # Children open their own connections; the supervisor keeps none.
        connections.close_all()
    metrics_dir = fresh_metrics_dir(settings.DATA_DIR, "serve")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    site_url = serve_site_url(args.host, args.port)
    if settings.EMBEDDED and not os.environ.get("SITE_URL"):
        # Links in emails (codes, manage, unsubscribe, orders) point where this serve runs;
        # off the embedded setup SITE_URL is the public address and must be set.
        env["SITE_URL"] = site_url
    specs = serve_children(host=args.host, port=args.port, task_workers=args.task_workers)
    print(f"Shelfwatch is running at {site_url}/  (Ctrl-C to stop)", flush=True)
    try:
        return Supervisor(specs, env=env).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def serve_site_url(host: str, port: int) -> str:
    """The base URL a browser on this machine uses for `serve --host host --port port`: a
    wildcard bind is reached on the loopback address."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - naming the wildcard, not binding to it
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve_children(*, host: str, port: int, task_workers: int) -> list[ChildSpec]:
    """What `serve` supervises: the front, `task_workers` task workers, a worker that only
    delivers notifications (a long poll or feed refresh never holds alerts back) and the
    scheduler."""
    from shelfwatch.ops.supervisor import ChildSpec

    me = [sys.executable, "-m", "shelfwatch"]
    workers = [
        ChildSpec("worker" if task_workers == 1 else f"worker-{number}", [*me, "worker"])
        for number in range(1, task_workers + 1)
    ]
    return [
        ChildSpec("front", [*me, "front", "--host", host, "--port", str(port)]),
        *workers,
        ChildSpec("delivery", [*me, "worker", "--queues", "notify"]),
        ChildSpec("scheduler", [*me, "scheduler"]),
    ]


def cmd_web(args: argparse.Namespace) -> int:
    """Serve Django over WSGI with granian until stopped; several workers share one metrics
    directory. Returns 0."""
    from django.conf import settings

    from shelfwatch.ops.servers import (
        WSGI_TARGET,
        fresh_metrics_dir,
        run_granian,
        web_backpressure,
    )

    metrics_dir = None
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Set before granian forks its workers (and before they import prometheus_client),
        # so a scrape of any worker reports all of them.
        metrics_dir = fresh_metrics_dir(settings.DATA_DIR, "web")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    try:
        run_granian(
            interface="wsgi",
            target=WSGI_TARGET,
            host=args.host,
            port=args.port,
            workers=args.workers,
            blocking_threads=args.threads,
            # A limit on connections, not requests (see servers.web_backpressure): every
            # keep-alive client is accepted and its requests wait their turn for a thread.
            backpressure=web_backpressure(),
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def cmd_stream(args: argparse.Namespace) -> int:
    """Serve the SSE streams over ASGI with granian until stopped. Returns 0."""
    from shelfwatch.ops.servers import (
        STREAM_BACKLOG,
        STREAM_TARGET,
        raise_open_files_limit,
        run_granian,
        stream_backpressure,
    )

    raise_open_files_limit()
    run_granian(
        interface="asgi",
        target=STREAM_TARGET,
        host=args.host,
        port=args.port,
        workers=args.workers,
        backpressure=stream_backpressure(),
        backlog=STREAM_BACKLOG,
    )
    return 0


def cmd_front(args: argparse.Namespace) -> int:
    """Serve the single-port ASGI front (streams natively, the rest through Django) with one granian
    worker until stopped. Returns 0."""
    from shelfwatch.ops.servers import (
        FRONT_TARGET,
        STREAM_BACKLOG,
        front_backpressure,
        raise_open_files_limit,
        run_granian,
    )

    raise_open_files_limit()
    run_granian(
        interface="asgi",
        target=FRONT_TARGET,
        host=args.host,
        port=args.port,
        workers=1,
        backpressure=front_backpressure(),
        backlog=STREAM_BACKLOG,
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the task worker of the default task backend (RQ or the database) on `--queues`, default
    all configured. Returns 0."""
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    config = settings.TASKS["default"]
    queues = args.queues.split(",") if args.queues else list(config.get("QUEUES", ["default"]))
    if config["BACKEND"] == "django_tasks_rq.RQBackend":
        # Without django_tasks_rq's job class every task fails; the RQ scheduler runs tasks
        # deferred with run_after.
        call_command("rqworker", *queues, "--job-class", "django_tasks_rq.Job", "--with-scheduler")
    else:
        call_command("db_worker", "--queue-name", ",".join(queues), "--no-reload")
    return 0


def cmd_scheduler(args: argparse.Namespace) -> int:
    """Run the scheduler until SIGINT or SIGTERM, or one round with `--once`; returns 1 if the loop
    failed, else 0."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    django.setup()
    from shelfwatch.ops.scheduler import Scheduler, current_holder, default_lease

    jobs = import_string(args.jobs)
    tick = args.tick if args.tick is not None else settings.SCHEDULER_TICK_SECONDS
    lease_seconds = args.lease if args.lease is not None else settings.SCHEDULER_LEASE_SECONDS
    if lease_seconds <= 2 * tick:
        print(
            f"warning: the lease ({lease_seconds}s) should exceed two ticks ({tick}s each)",
            file=sys.stderr,
        )
    scheduler = Scheduler(jobs=jobs, lease=default_lease(seconds=lease_seconds), tick_seconds=tick)
    if args.once:
        enqueued = scheduler.tick()
        if scheduler.holding:
            scheduler.lease.release()
        elif holder := current_holder():
            print(f"enqueued: nothing (scheduler {holder} holds the lease)")
            return 0
        print(f"enqueued: {', '.join(enqueued) or 'nothing due'}")
        return 0
    stop = threading.Event()
    # The loop runs in its own thread: a signal handler runs in the main thread, and its
    # stop.set() could wait forever for the Event's lock if the main thread were holding
    # it inside stop.wait() at that instant.
    failed: list[BaseException] = []

    def run() -> None:
        try:
            scheduler.run(stop)
        except BaseException as exc:
            failed.append(exc)
            raise

    runner = threading.Thread(target=run, name="scheduler")
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runner.start()
    while runner.is_alive():
        runner.join(0.5)
    return 1 if failed else 0
