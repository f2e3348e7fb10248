"""The `shelfwatch` command: help, Django passthrough, demo data, createadmin, check --deploy."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from shelfwatch.cli import OWN_COMMANDS, main
from tests.ops.processes import run_shelfwatch

# The shared autouse fixture clears the (database) cache, so every test needs the database.
pytestmark = pytest.mark.django_db

SHELFWATCH = [sys.executable, "-m", "shelfwatch"]


def run(args: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return run_shelfwatch(args, env, timeout=120, **kwargs)


@pytest.mark.parametrize("command", ["", *sorted(OWN_COMMANDS)])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"] if command else ["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: shelfwatch")


def test_the_console_script_is_installed():
    script = os.path.join(os.path.dirname(sys.executable), "shelfwatch")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("serve", "web", "stream", "worker", "scheduler", "demo", "createadmin"):
        assert command in result.stdout


def test_other_commands_go_to_django(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["migrate", "--help"])
    assert exit_info.value.code == 0
    assert "usage: shelfwatch migrate" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["manage", "showmigrations", "--help"])
    assert exit_info.value.code == 0
    assert "usage: shelfwatch showmigrations" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_demo_loads_once_and_a_second_run_changes_nothing(subprocess_env):
    from shelfwatch.accounts.models import StoreMembership, User
    from shelfwatch.catalog.models import Product
    from shelfwatch.inventory.models import StockItem, StockMovement, Store

    def snapshot():
        return (
            sorted(User.objects.values_list("email", "password", "is_superuser", "is_staff")),
            sorted(Store.objects.values_list("pk", "slug", "name", "city")),
            sorted(StoreMembership.objects.values_list("pk", "user__email", "store__slug", "role")),
            sorted(Product.objects.values_list("pk", "barcode", "status", "quality_score")),
            sorted(StockItem.objects.values_list("pk", "quantity")),
            StockMovement.objects.count(),
        )

    first = run(["demo", "--force"], subprocess_env)
    assert first.returncode == 0, first.stderr
    assert "admin@shelfwatch.local" in first.stdout
    assert "admin-demo-2468" in first.stdout
    loaded = snapshot()
    users, stores, memberships, products, items, _ = loaded
    assert len(users) == 4 and len(stores) == 3 and len(memberships) == 3
    # Demo products come with a pending one for the review queue and stock in two stores.
    assert [p[2] for p in products].count("pending") == 1
    assert len(products) > 20 and len(items) > 10
    admin = User.objects.get(email="admin@shelfwatch.local")
    assert admin.is_superuser and admin.check_password("admin-demo-2468")
    owner = User.objects.get(email="maya.patel@shelfwatch.local")
    assert owner.check_password("owner-demo-2468")
    assert set(owner.memberships.values_list("role", flat=True)) == {"owner"}

    second = run(["demo", "--force"], subprocess_env)
    assert second.returncode == 0, second.stderr
    assert "0 accounts, 0 stores, 0 memberships, 0 products and 0 stock items" in second.stdout
    assert snapshot() == loaded


@pytest.mark.django_db(transaction=True)
def test_createadmin(subprocess_env):
    from shelfwatch.accounts.models import User

    missing = run(["createadmin"], subprocess_env)
    assert missing.returncode == 2
    assert "--email and --password" in missing.stderr

    weak = run(["createadmin", "--email", "root@example.com", "--password", "123"], subprocess_env)
    assert weak.returncode == 1
    assert "error:" in weak.stderr
    assert not User.objects.filter(email="root@example.com").exists()

    env = {**subprocess_env, "SHELFWATCH_ADMIN_PASSWORD": "a-long-admin-passphrase-7"}
    created = run(["createadmin", "--email", "Root@Example.com"], env)
    assert created.returncode == 0, created.stderr
    user = User.objects.get(email="root@example.com")
    assert user.is_superuser and user.check_password("a-long-admin-passphrase-7")

    again = run(["createadmin", "--email", "root@example.com"], env)
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_check_deploy_passes_with_production_settings(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "DEBUG", "SQLITE_PATH"))
    }
    env.update(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/shelfwatch",
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="0",
        ALLOWED_HOSTS="shelfwatch.example.com",
        DATA_DIR=str(tmp_path),
    )
    result = run(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_serve_runs_as_many_task_workers_as_asked():
    from shelfwatch.cli.servers import serve_children

    one = serve_children(host="127.0.0.1", port=8000, task_workers=1)
    assert [child.name for child in one] == ["front", "worker", "delivery", "scheduler"]
    three = serve_children(host="127.0.0.1", port=8000, task_workers=3)
    assert [child.name for child in three] == [
        "front",
        "worker-1",
        "worker-2",
        "worker-3",
        "delivery",
        "scheduler",
    ]
    assert all(child.argv[-1] == "worker" for child in three[1:4])
    # Notifications have a worker of their own: a long poll never holds an alert back.
    assert three[4].argv[-3:] == ["worker", "--queues", "notify"]
    assert three[0].argv[-4:] == ["--host", "127.0.0.1", "--port", "8000"]


def test_serve_refuses_no_task_workers(subprocess_env):
    result = run(["serve", "--task-workers", "0"], subprocess_env)
    assert result.returncode == 2
    assert "--task-workers must be at least 1" in result.stderr
