"""deploy/nginx.conf as shipped, in Debian's nginx, in front of two web processes and a
stream process on loopback: balancing, unbuffered streams, static caching, client address."""

from __future__ import annotations

import getpass
import http.client
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from shelfwatch.events.publishing import emit
from tests.conftest import REPO, free_port
from tests.ops.processes import Running, run_shelfwatch
from tests.processes import wait_for, wait_for_http

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = [
    pytest.mark.multiprocess,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(NGINX).exists() and os.environ.get("REQUIRE_SERVICES") != "1",
        reason="nginx is not installed (apt-get install nginx-light)",
    ),
]


def render(*, port: int, web: list[int], stream: int, static_root: Path, prefix: Path) -> Path:
    """The shipped config with this test's addresses, wrapped in a minimal nginx.conf."""
    shipped = (REPO / "deploy" / "nginx.conf").read_text()
    shipped = shipped.replace(
        "    server 127.0.0.1:8001;\n    server 127.0.0.1:8002;\n",
        "".join(f"    server 127.0.0.1:{p};\n" for p in web),
    )
    shipped = shipped.replace("server 127.0.0.1:8101;", f"server 127.0.0.1:{stream};")
    shipped = shipped.replace("listen 80;", f"listen 127.0.0.1:{port};")
    shipped = shipped.replace("/srv/shelfwatch/static/", f"{static_root}/")
    assert f"127.0.0.1:{port}" in shipped and str(static_root) in shipped
    config = prefix / "nginx.conf"
    # pytest's folders are private to their owner: nginx's workers must run as that owner.
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    config.write_text(
        f"{user}pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
        "events { worker_connections 256; }\n"
        f"http {{\naccess_log {prefix}/access.log;\n"
        f"client_body_temp_path {prefix}/body;\nproxy_temp_path {prefix}/proxy;\n"
        f"fastcgi_temp_path {prefix}/fastcgi;\nuwsgi_temp_path {prefix}/uwsgi;\n"
        f"scgi_temp_path {prefix}/scgi;\n{shipped}\n}}\n"
    )
    return config


def get(port: int, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_nginx_balances_streams_unbuffered_caches_static_and_passes_the_client_address(
    subprocess_env, tmp_path
):
    env = {
        **subprocess_env,
        "NUM_PROXIES": "1",
        "THROTTLE_ANON": "5/m",
        "STATIC_HASHED_NAMES": "1",
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    collected = run_shelfwatch(["collectstatic", "--noinput", "-v", "0"], env)
    assert collected.returncode == 0, collected.stderr
    web_ports, stream_port, port = [free_port(), free_port()], free_port(), free_port()
    webs = [
        Running(["web", "--port", str(p), "--workers", "1", "--threads", "2"], env)
        for p in web_ports
    ]
    stream = Running(["stream", "--port", str(stream_port)], env)
    nginx = None
    try:
        for p in (*web_ports, stream_port):
            wait_for_http(f"http://127.0.0.1:{p}/health", timeout=60)
        prefix = tmp_path / "nginx"
        prefix.mkdir()
        config = render(
            port=port,
            web=web_ports,
            stream=stream_port,
            static_root=tmp_path / "static",
            prefix=prefix,
        )
        nginx = subprocess.Popen(
            [NGINX, "-c", str(config), "-p", str(prefix), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_for_http(f"http://127.0.0.1:{port}/health", timeout=20, process=nginx)

        # Requests reach both web processes (each logs the pages it served).
        for _ in range(6):
            assert get(port, "/manifest.webmanifest").status == 200
        wait_for(lambda: all("/manifest.webmanifest" in w.output for w in webs), timeout=10)

        # A hashed static file is cached for a year, served by nginx itself.
        hashed = next((tmp_path / "static").rglob("site.*.css"))
        assert re.search(r"\.[0-9a-f]{12}\.css$", hashed.name)
        answer = get(port, "/static/" + hashed.relative_to(tmp_path / "static").as_posix())
        assert answer.status == 200
        assert "max-age=31536000" in answer.getheader("Cache-Control", "")

        # The stream passes through unbuffered: an event arrives while the stream is open.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/api/v1/events/stream?topics=product:1")
        streamed = conn.getresponse()
        assert streamed.status == 200
        assert streamed.getheader("Content-Type", "").startswith("text/event-stream")
        time.sleep(0.5)
        emit(type="stock.changed", payload={"product_id": 1}, topics=["product:1"])
        seen = b""
        deadline = time.monotonic() + 8
        while b"stock.changed" not in seen and time.monotonic() < deadline:
            seen += streamed.fp.read1(4096)
        conn.close()
        assert b"stock.changed" in seen

        # Rate limits count the address nginx saw, whatever the client claims.
        statuses = [
            get(port, "/api/v1/products", {"X-Forwarded-For": f"10.0.0.{n}"}).status
            for n in range(8)
        ]
        assert 429 in statuses and statuses.index(429) <= 5
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        for process in (*webs, stream):
            process.stop()
