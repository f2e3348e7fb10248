"""The deployment files say only what the code can do: every compose command parses as a
`shelfwatch` command, and the compose nginx config is the tested one with service names."""

from __future__ import annotations

import pytest
import yaml

from shelfwatch.cli import OWN_COMMANDS, build_parser
from tests.conftest import REPO


def compose_services() -> dict[str, dict]:
    return yaml.safe_load((REPO / "compose.yaml").read_text())["services"]


def shelfwatch_commands() -> list[tuple[str, list[str]]]:
    commands = []
    for name, service in compose_services().items():
        if service.get("image", "").startswith("shelfwatch") and "command" in service:
            commands.append((name, service["command"]))
    return commands


def test_compose_runs_every_role_of_the_scale_out_shape():
    roles = {command[0] for _, command in shelfwatch_commands()}
    assert {"web", "stream", "worker", "scheduler", "migrate", "serve"} <= roles
    services = compose_services()
    assert {"db", "redis", "nginx"} <= set(services)
    web = [c for _, c in shelfwatch_commands() if c[0] == "web"]
    assert len(web) == 2  # two web processes behind nginx


@pytest.mark.parametrize(("service", "command"), shelfwatch_commands())
def test_every_compose_command_is_one_the_cli_accepts(service, command):
    if command[0] in OWN_COMMANDS:
        build_parser().parse_args(command)  # exits (fails the test) on a wrong option
    else:
        from django.core.management import get_commands

        assert command[0] in get_commands(), f"{service}: no command {command[0]!r}"


def test_the_compose_nginx_config_is_the_tested_one_with_service_names():
    tested = (REPO / "deploy" / "nginx.conf").read_text().split("\n\n", 1)[1]
    compose = (REPO / "deploy" / "compose-nginx.conf").read_text().split("\n\n", 1)[1]
    for local, service in (
        ("127.0.0.1:8001", "web1:8001"),
        ("127.0.0.1:8002", "web2:8002"),
        ("127.0.0.1:8101", "stream:8101"),
    ):
        tested = tested.replace(local, service)
    assert compose == tested


def test_the_image_runs_the_cli_and_checks_health():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["shelfwatch"]' in dockerfile
    assert "/health" in dockerfile and "USER shelfwatch" in dockerfile
    assert "collectstatic" in dockerfile
