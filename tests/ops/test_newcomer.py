"""What a new user meets first, run as real `shelfwatch` processes: the demo on a fresh data
directory, links that follow the port `serve` listens on, a quiet log at INFO, a help that
lists every command and errors that show the right usage."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django_tasks import TaskResultStatus

from shelfwatch.cli.main import main, project_management_commands
from tests.conftest import REPO, free_port
from tests.ops.processes import Running, run_shelfwatch
from tests.ops.queues import using_rq
from tests.ops.task_fixtures import broken_work, routine_work
from tests.processes import wait_for, wait_for_http

pytestmark = pytest.mark.django_db

SHELFWATCH = [sys.executable, "-m", "shelfwatch"]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return run_shelfwatch(args, env)


def embedded_env(tmp_path) -> dict[str, str]:
    """A brand-new embedded installation: nothing but a data directory."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "SQLITE_PATH", "REDIS_URL", "CACHE_REDIS_URL")
    }
    env.update(DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1")
    return env


def test_demo_on_a_fresh_data_directory_migrates_first(tmp_path):
    env = embedded_env(tmp_path)
    result = run(["demo"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no such table" not in result.stderr
    assert "maya.patel@shelfwatch.local" in result.stdout
    again = run(["demo"], env)
    assert again.returncode == 0, again.stderr
    assert "0 accounts, 0 stores" in again.stdout


def test_help_lists_the_projects_own_management_commands(capsys):
    commands = project_management_commands()
    assert {"deliver", "feeds"} <= set(commands)
    on_disk = {
        path.stem
        for path in (REPO / "src" / "shelfwatch").glob("*/management/commands/*.py")
        if not path.stem.startswith("_")
    }
    assert set(commands) == on_disk
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    for command in commands:
        assert f"{command}," in out or f"{command} (" in out, command


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["serve", "--prot", "8151"], "usage: shelfwatch serve"),
        (["web", "--wrokers", "4"], "usage: shelfwatch web"),
        (["demo", "--forse"], "usage: shelfwatch demo"),
    ],
)
def test_a_mistyped_option_shows_the_commands_own_usage(argv, usage, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage), err
    assert f"unrecognized arguments: {' '.join(argv[1:])}" in err


@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(using_rq(), reason="the RQ worker logs through rq's own handler")
def test_a_worker_log_at_info_shows_failures_but_not_each_routine_task(subprocess_env):
    env = {**subprocess_env, "LOG_LEVEL": "INFO"}
    with Running(["worker"], env) as worker:
        ok = routine_work.enqueue()
        failed = broken_work.enqueue()
        wait_for(lambda: failed.refresh() or failed.status == TaskResultStatus.FAILED, 30)
        wait_for(lambda: ok.refresh() or ok.status == TaskResultStatus.SUCCESSFUL, 30)
        worker.stop()
    log = worker.output
    assert "broken_work failed on purpose" in log
    assert f"Task id={failed.id}" in log  # the failure, at ERROR
    assert f"Task id={ok.id}" not in log  # neither its start nor its finish

    # At DEBUG the routine lines are there for whoever asks for them.
    env["LOG_LEVEL"] = "DEBUG"
    with Running(["worker"], env) as worker:
        again = routine_work.enqueue()
        wait_for(lambda: again.refresh() or again.status == TaskResultStatus.SUCCESSFUL, 30)
        worker.stop()
    assert f"Task id={again.id}" in worker.output


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_enqueues_without_a_line_at_info(subprocess_env):
    from shelfwatch.ops.models import PeriodicJobState
    from tests.ops.periodic_fixtures import fast_tick, slow_tick
    from tests.ops.queues import discard, free_scheduler_lease

    # Another test's schedule of these jobs (committed by its subprocess) or its runs still
    # waiting would (rightly) hold them back: start from none.
    PeriodicJobState.objects.filter(name__in=["test-fast", "test-slow"]).delete()
    free_scheduler_lease()
    discard({fast_tick.module_path, slow_tick.module_path})
    env = {**subprocess_env, "LOG_LEVEL": "INFO"}
    args = ["scheduler", "--once", "--jobs", "tests.ops.periodic_fixtures.JOBS"]
    quiet = run(args, env)
    assert quiet.returncode == 0, quiet.stderr
    assert "enqueued: test-fast, test-slow" in quiet.stdout
    assert "enqueued periodic job" not in quiet.stdout + quiet.stderr
    discard({fast_tick.module_path, slow_tick.module_path})


@pytest.mark.django_db(transaction=True)
def test_a_one_off_scheduler_run_names_the_scheduler_holding_the_lease(subprocess_env):
    from shelfwatch.ops.scheduler import default_lease
    from tests.ops.queues import free_scheduler_lease

    free_scheduler_lease()
    running = default_lease(holder="other-host:4242:abcd", seconds=60)
    assert running.acquire()
    try:
        args = ["scheduler", "--once", "--jobs", "tests.ops.periodic_fixtures.JOBS"]
        once = run(args, subprocess_env)
    finally:
        running.release()
    assert once.returncode == 0, once.stderr
    assert "scheduler other-host:4242:abcd holds the lease" in once.stdout


@pytest.mark.multiprocess
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not settings.EMBEDDED, reason="SITE_URL follows serve only when embedded")
def test_links_follow_the_port_serve_listens_on(subprocess_env):
    env = {key: value for key, value in subprocess_env.items() if key != "SITE_URL"}
    env.pop("EMAIL_HOST", None)  # the console backend: the mail shows in serve's output
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with Running(["serve", "--port", str(port), "--task-workers", "1"], env) as serve:
        wait_for_http(base + "/health", timeout=60)
        import httpx

        response = httpx.post(
            base + "/api/v1/contacts",
            json={"channel": "email", "address": "newcomer@example.com"},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        # The code's email, as the person receives it, links to the port serve listens on.
        wait_for(lambda: f"{base}/alerts/confirm/" in serve.output, timeout=30)
        serve.stop(timeout=20)
