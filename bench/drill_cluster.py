"""The scale-out deployment the failure drill runs and breaks: a private Redis, nginx in
front of two `shelfwatch web`, one `shelfwatch stream`, two workers and the scheduler, plus
the fake WhatsApp (its own process) and SendGrid (a thread of the drill) providers.

Used by failure_drill.py; not run on its own. Every process is started in its own session
and supervised: one that dies is started again after `RESTART_DELAY` (as systemd's
`Restart=always` or compose's `restart: unless-stopped` would), and `Cluster.close` stops
them all, also after a failure or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from servers import HOST, REPO_DIR, SHELFWATCH, free_port, web_argv

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # Debian puts it outside a user PATH
REDIS_PORT = 6391
RESTART_DELAY = 1.0


@dataclass
class Supervised:
    """One long-running process, restarted when it dies; `kill()` is a SIGKILL of its group."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_dir: Path
    port: int | None = None
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0
    unexpected_exits: list[tuple[int, float]] = field(default_factory=list)  # (code, when)
    down_since: float | None = None

    def start(self) -> None:
        with (self.log_dir / f"{self.name}.log").open("ab") as log:
            log.write(f"--- start {self.starts + 1} at {time.time():.1f}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=REPO_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        self.down_since = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the process and every child (granian's workers, RQ's work horse)."""
        assert self.proc is not None
        self.kills += 1
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, grace: float = 10.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)

    def log_tail(self, lines: int = 20) -> str:
        path = self.log_dir / f"{self.name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def wait_http(url: str, timeout: float = 90.0, proc: Supervised | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        if proc is not None and proc.proc is not None and proc.proc.poll() is not None:
            raise RuntimeError(f"{proc.name} exited:\n{proc.log_tail()}")
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {timeout:.0f} s")


def render_nginx(*, port: int, web: Sequence[int], stream: int, prefix: Path) -> Path:
    """deploy/nginx.conf with loopback addresses, in a minimal nginx.conf (as the nginx test
    renders it)."""
    shipped = (REPO_DIR / "deploy" / "nginx.conf").read_text()
    shipped = shipped.replace(
        "    server 127.0.0.1:8001;\n    server 127.0.0.1:8002;\n",
        "".join(f"    server 127.0.0.1:{p};\n" for p in web),
    )
    shipped = shipped.replace("server 127.0.0.1:8101;", f"server 127.0.0.1:{stream};")
    shipped = shipped.replace("listen 80;", f"listen 127.0.0.1:{port};")
    static = prefix / "static"
    static.mkdir(parents=True, exist_ok=True)
    shipped = shipped.replace("/srv/shelfwatch/static/", f"{static}/")
    if f"127.0.0.1:{port}" not in shipped or f"127.0.0.1:{stream}" not in shipped:
        raise RuntimeError("deploy/nginx.conf changed: the drill's rewrite no longer applies")
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    config = prefix / "nginx.conf"
    config.write_text(
        f"{user}pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
        "worker_processes 1;\nevents { worker_connections 4096; }\n"
        f"http {{\naccess_log off;\n"
        f"client_body_temp_path {prefix}/body;\nproxy_temp_path {prefix}/proxy;\n"
        f"fastcgi_temp_path {prefix}/fastcgi;\nuwsgi_temp_path {prefix}/uwsgi;\n"
        f"scgi_temp_path {prefix}/scgi;\n{shipped}\n}}\n"
    )
    return config


class Cluster:
    """Everything the drill runs, supervised; `close()` always stops it all."""

    def __init__(self, workdir: Path, base_env: dict[str, str]) -> None:
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = dict(base_env)
        self.procs: dict[str, Supervised] = {}
        self.held_down: set[str] = set()  # being restarted by the drill itself
        self.port = free_port()
        self.whatsapp: subprocess.Popen[str] | None = None
        self.whatsapp_info: dict = {}
        self.sendgrid = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._monitor = threading.Thread(target=self._supervise, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    # --- providers ------------------------------------------------------------------------

    def start_providers(self) -> dict[str, str]:
        """The fake providers; returns the settings that point the app at them."""
        sys.path.insert(0, str(REPO_DIR))  # the fakes live in tests/
        from tests.fakes.sendgrid import SendGridFake

        self.whatsapp = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.fast_whatsapp", "--port", "0"],
            cwd=REPO_DIR,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.whatsapp.stdout is not None
        self.whatsapp_info = json.loads(self.whatsapp.stdout.readline())
        self.sendgrid = SendGridFake(api_key=None).start()
        return {
            "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
            "WHATSAPP_API_BASE": self.whatsapp_info["url"],
            "WHATSAPP_PHONE_NUMBER_ID": self.whatsapp_info.get("phone_number_id")
            or "106540352242922",
            "WHATSAPP_ACCESS_TOKEN": self.whatsapp_info.get("token") or "drill-token",
            "WHATSAPP_APP_SECRET": "drill-app-secret",
            "SENDGRID_API_KEY": "SG.drill.key",
            "SENDGRID_API_URL": self.sendgrid.api_url,
        }

    def whatsapp_counts(self) -> dict[str, int]:
        """Accepted messages per recipient (wa_id, digits only) at the fake."""
        with httpx.Client(timeout=60) as client:
            return client.get(self.whatsapp_info["control"] + "/counts").json()

    def email_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for mail in self.sendgrid.messages:
            for address in mail.to:
                counts[address.lower()] = counts.get(address.lower(), 0) + 1
        return counts

    # --- Redis ----------------------------------------------------------------------------

    def start_redis(self) -> None:
        """A private redis-server (append-only file on, as compose.yaml runs it)."""
        data = self.workdir / "redis"
        data.mkdir(exist_ok=True)
        argv = [
            "redis-server",
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--save",
            "",
        ]
        proc = Supervised("redis", argv, self.env, self.logs, port=REDIS_PORT)
        self.procs["redis"] = proc
        proc.start()
        self._wait_redis()

    def _wait_redis(self, timeout: float = 20.0) -> None:
        import redis

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis(port=REDIS_PORT, socket_timeout=1).ping():
                    return
            time.sleep(0.1)
        raise RuntimeError(
            f"redis on {REDIS_PORT} did not answer:\n{self.procs['redis'].log_tail()}"
        )

    def restart_redis(self, down_seconds: float = 2.0) -> None:
        """A Redis restart as an operator or compose does it: SIGTERM (the append-only file
        is flushed), a few seconds down, started again on the same files."""
        proc = self.procs["redis"]
        with self._lock:
            self.held_down.add("redis")
        proc.stop(grace=20)
        time.sleep(down_seconds)
        proc.start()
        self._wait_redis()
        with self._lock:
            self.held_down.discard("redis")

    # --- Shelfwatch -----------------------------------------------------------------------

    def add(self, name: str, args: list[str], port: int | None = None) -> Supervised:
        proc = Supervised(name, [str(SHELFWATCH), *args], self.env, self.logs, port=port)
        self.procs[name] = proc
        proc.start()
        return proc

    def start_app(self, *, web_threads: int) -> None:
        webs = [free_port(), free_port()]
        stream = free_port()
        for n, port in enumerate(webs, 1):
            self.add(f"web{n}", web_argv(port, web_threads)[1:], port)
        self.add("stream", ["stream", "--host", HOST, "--port", str(stream)], stream)
        # As compose.yaml runs them: one on every queue, one on notifications alone.
        self.add("worker1", ["worker"])
        self.add("worker2", ["worker", "--queues", "notify"])
        self.add("scheduler", ["scheduler"])
        for name in ("web1", "web2", "stream"):
            proc = self.procs[name]
            wait_http(f"http://{HOST}:{proc.port}/health", proc=proc)
        prefix = self.workdir / "nginx"
        prefix.mkdir()
        config = render_nginx(port=self.port, web=webs, stream=stream, prefix=prefix)
        nginx = Supervised(
            "nginx",
            [NGINX, "-c", str(config), "-p", str(prefix), "-g", "daemon off;"],
            self.env,
            self.logs,
        )
        self.procs["nginx"] = nginx
        nginx.start()
        wait_http(self.base_url + "/health", timeout=20, proc=nginx)
        self._monitor.start()

    def _supervise(self) -> None:
        while not self._stop.wait(0.2):
            with self._lock:
                for name, proc in self.procs.items():
                    if name in self.held_down or proc.alive():
                        continue
                    now = time.monotonic()
                    if proc.down_since is None:  # not killed by the drill
                        proc.down_since = now
                        proc.unexpected_exits.append((proc.proc.returncode, time.time()))
                    elif now - proc.down_since >= RESTART_DELAY:
                        proc.start()

    def sigkill(self, name: str) -> float:
        """SIGKILL one process (the supervisor starts it again); returns when it died."""
        proc = self.procs[name]
        with self._lock:
            proc.kill()
            proc.down_since = time.monotonic()
        return time.time()

    def wait_up(self, name: str, timeout: float = 90.0) -> None:
        proc = self.procs[name]
        if proc.port is not None:
            wait_http(f"http://{HOST}:{proc.port}/health", timeout=timeout)
        else:
            deadline = time.monotonic() + timeout
            while not proc.alive() and time.monotonic() < deadline:
                time.sleep(0.2)

    def unexpected(self) -> dict[str, list[tuple[int, float]]]:
        return {n: p.unexpected_exits for n, p in self.procs.items() if p.unexpected_exits}

    def close(self) -> None:
        self._stop.set()
        if self._monitor.is_alive():
            self._monitor.join(timeout=5)
        for name in ("nginx", "scheduler", "worker1", "worker2", "web1", "web2", "stream"):
            if name in self.procs:
                self.procs[name].stop()
        if "redis" in self.procs:
            self.procs["redis"].stop()
        if self.whatsapp is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.whatsapp.pid, signal.SIGKILL)
            self.whatsapp.wait(timeout=10)
        if self.sendgrid is not None:
            self.sendgrid.stop()
