"""What one request costs in CPU, piece by piece: Shelfwatch's /health and /me against the
minimal Ninja project, in-process, on one thread, without a server or a network.

Run from the repository root (PostgreSQL + Redis are used when both answer on 127.0.0.1):

    .venv/bin/python bench/request_cost.py [--skip-scale-out]

For each deployment (see deployments.py) a subprocess with that deployment's environment
calls the Django WSGI handler directly, as granian would, with a prepared environ, and
reports the best-of-7 mean microseconds per request (the rounds taken in turn across all
variants): as configured, then with one thing
changed at a time (rate limits off or counted in process memory, persistent database
connections, no middleware, each middleware left out), plus the parts timed alone (JWT
decode, the user lookup, the two queries of a user-cache miss, a rate-limit hit, one sync
of the shared rate-limit counter). /me requests rotate over 500 users' tokens, so the
default rate limits apply and none is reached. Being single-threaded
and in-process, these figures are far less sensitive to other work on the machine than
the wrk runs, and `1e6 / us` is the most one core could serve.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import deployments
import machine
from servers import BENCH_DIR, clean_env, run_checked
from tables import render_table

HEALTH = "/health"
ME = "/api/v1/auth/me"
MINIMAL_PATH = "/api/health"
ROUNDS = int(os.environ.get("BENCH_COST_ROUNDS", "7"))
NEEDS_SESSIONS = ("PageAuthenticationMiddleware", "LazyMessageMiddleware")
ROUND_SECONDS = 0.2


# --- inside the measured settings ---------------------------------------------------------


def _calls_per_round(call: Callable[[], object]) -> int:
    """Warm `call` up and size a round of it to about ROUND_SECONDS."""
    for _ in range(30):
        call()
    started = time.perf_counter()
    for _ in range(20):
        call()
    per_call = (time.perf_counter() - started) / 20
    return max(20, int(ROUND_SECONDS / max(per_call, 1e-7)))


def _best_mean_us(call: Callable[[], object]) -> float:
    """Best-of-ROUNDS mean microseconds per call, each round about ROUND_SECONDS long."""
    n = _calls_per_round(call)
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(n):
            call()
        best = min(best, (time.perf_counter() - started) / n)
    return best * 1e6


def _wsgi_call(path: str, tokens: list[str]) -> Callable[[], None]:
    """One request through a fresh WSGIHandler (so middleware settings are read now); the
    bearer tokens, when given, are taken in turn (many users: no rate limit is reached)."""
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }
    authorizations = itertools.cycle([f"Bearer {t}" for t in tokens] or [""])

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None):
        # Every answer must be a 200: a 429 or an error would be measuring something else.
        if not status.startswith("200"):
            raise RuntimeError(f"GET {path} answered {status}")

    def call() -> None:
        request = {**environ, "wsgi.input": io.BytesIO(b"")}
        authorization = next(authorizations)
        if authorization:
            request["HTTP_AUTHORIZATION"] = authorization
        response = handler(request, start_response)
        for _chunk in response:
            pass
        response.close()  # request_finished: closes or keeps the database connection

    call()
    return call


Variants = list[tuple[str, Callable[[], contextlib.AbstractContextManager[object]]]]


@contextlib.contextmanager
def _persistent_connections() -> Iterator[None]:
    from django.db import connections

    conn = connections["default"]
    saved = conn.settings_dict["CONN_MAX_AGE"]
    conn.close()
    conn.settings_dict["CONN_MAX_AGE"] = 600
    try:
        yield
    finally:
        conn.close()
        conn.settings_dict["CONN_MAX_AGE"] = saved


def _variants() -> Variants:
    from django.conf import settings
    from django.test.utils import override_settings

    in_memory = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    variants: Variants = [
        ("as configured", contextlib.nullcontext),
        ("THROTTLE_ENABLED=0", lambda: override_settings(THROTTLE_ENABLED=False)),
        ("rate-limit counts in process memory", lambda: override_settings(CACHES=in_memory)),
        ("persistent DB connection (CONN_MAX_AGE=600)", _persistent_connections),
        ("no middleware", lambda: override_settings(MIDDLEWARE=[])),
    ]
    for middleware in settings.MIDDLEWARE:
        name = middleware.rsplit(".", 1)[1]
        # Authentication and messages need the session middleware: they leave with it.
        gone = {name, *NEEDS_SESSIONS} if name.endswith("SessionMiddleware") else {name}
        rest = [m for m in settings.MIDDLEWARE if m.rsplit(".", 1)[1] not in gone]
        label = f"without {' + '.join(sorted(gone))}"
        variants.append((label, lambda rest=rest: override_settings(MIDDLEWARE=rest)))
    return variants


def _parts(tokens: list[str]) -> dict[str, float]:
    """The pieces of /me timed alone."""
    from django.db import connections

    from shelfwatch.accounts.models import StoreMembership, User
    from shelfwatch.accounts.principal import from_bearer
    from shelfwatch.accounts.throttling import hit, shared_add
    from shelfwatch.accounts.tokens import decode_access_token
    from shelfwatch.ops.logs import new_request_id
    from shelfwatch.ops.metrics import observe_request

    token = tokens[0]
    user = from_bearer(token).user
    idents = itertools.cycle([f"user:cost-{n}" for n in range(500)])
    parts = {
        "JWT decode": _best_mean_us(lambda: decode_access_token(token)),
        "from_bearer (JWT decode + per-process user cache)": _best_mean_us(
            lambda: from_bearer(token)
        ),
        "user query (a cache miss, 1 of 2)": _best_mean_us(
            lambda: User.objects.filter(pk=user.pk, is_active=True).first()
        ),
        "memberships query (a cache miss, 2 of 2)": _best_mean_us(
            lambda: list(
                StoreMembership.objects.filter(user=user, store__is_active=True).select_related(
                    "store"
                )
            )
        ),
        "rate-limit hit at 600/m, 500 users (amortized)": _best_mean_us(
            lambda: hit("user", next(idents), "600/m")
        ),
        "shared rate-limit counter add (one sync)": _best_mean_us(
            lambda: shared_add("throttle:cost", 1, timeout=61)
        ),
        "request id (uuid4)": _best_mean_us(lambda: new_request_id(None)),
        "metrics observe": _best_mean_us(
            lambda: observe_request(method="GET", route="health", status=200, seconds=0.001)
        ),
    }
    connections.close_all()
    return parts


def _interleaved(
    variants: Variants, paths: list[str], tokens: list[str]
) -> dict[str, dict[str, float]]:
    """Best-of-ROUNDS mean microseconds per request for every (variant, path), the rounds
    taken in turn across all of them, so that a slow spell of the machine hits all alike."""
    jobs = []
    for name, context in variants:
        for path in paths:
            with context():  # the handler reads MIDDLEWARE when it is built
                call = _wsgi_call(path, tokens if path == ME else [])
                n = _calls_per_round(call)
            jobs.append((name, path, context, call, n))
    best: dict[tuple[str, str], float] = {}
    for _ in range(ROUNDS):
        for name, path, context, call, n in jobs:
            with context():
                started = time.perf_counter()
                for _ in range(n):
                    call()
                elapsed = (time.perf_counter() - started) / n
            best[name, path] = min(best.get((name, path), float("inf")), elapsed)
    out: dict[str, dict[str, float]] = {}
    for (name, path), seconds in best.items():
        out.setdefault(name, {})[path] = seconds * 1e6
    return out


def inner(paths: list[str], tokens: list[str], *, shelfwatch: bool) -> dict[str, dict[str, float]]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shelfwatch.config.settings")
    django.setup()
    variants: Variants = _variants() if shelfwatch else [("as configured", contextlib.nullcontext)]
    out = _interleaved(variants, paths, tokens)
    if shelfwatch:
        out["parts"] = _parts(tokens)
    return out


# --- outside: deployments, subprocesses, the table ----------------------------------------


def measure_in(
    env: dict[str, str], paths: list[str], tokens: Path | None, *, shelfwatch: bool
) -> dict:
    argv = [sys.executable, __file__, "--inner", "--paths", ",".join(paths)]
    argv += ["--tokens", str(tokens)] if tokens else []
    argv += [] if shelfwatch else ["--minimal"]
    return json.loads(run_checked(argv, env=env).strip().splitlines()[-1])


def table(results: dict[str, dict], minimal_us: float, paths: list[str]) -> str:
    short = {HEALTH: "/health", ME: "/me"}
    header = ["variant"]
    for deployment in results:
        header += [f"{deployment} {short[p]} us" for p in paths]
    names = [name for name in next(iter(results.values())) if name != "parts"]
    rows = []
    for name in names:
        row = [name]
        for data in results.values():
            row += [f"{data[name][p]:,.0f}" for p in paths]
        rows.append(row)
    yardstick = [f"{minimal_us:,.0f}" if p == HEALTH else "-" for p in paths]
    rows.append([f"minimal Ninja {MINIMAL_PATH}", *yardstick * len(results)])
    return render_table(header, rows)


def parts_table(results: dict[str, dict]) -> str:
    header = ["part, timed alone", *(f"{d} us" for d in results)]
    names = list(next(iter(results.values()))["parts"])
    rows = [[n, *(f"{data['parts'][n]:,.0f}" for data in results.values())] for n in names]
    return render_table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-scale-out", action="store_true")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per figure (best counts)")
    parser.add_argument("--health-only", action="store_true", help="skip /me (quicker)")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--minimal", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--paths", default="", help=argparse.SUPPRESS)
    parser.add_argument("--tokens", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        tokens = Path(args.tokens).read_text().split() if args.tokens else []
        print(json.dumps(inner(args.paths.split(","), tokens, shelfwatch=not args.minimal)))
        return

    print(machine.render(machine.describe()), flush=True)
    os.environ["BENCH_COST_ROUNDS"] = str(args.rounds)  # read by the measuring subprocesses
    paths = [HEALTH] if args.health_only else [HEALTH, ME]
    minimal_env = clean_env(
        {"PYTHONPATH": str(BENCH_DIR), "DJANGO_SETTINGS_MODULE": "minimal_ninja.settings"}
    )
    minimal_runs = [measure_in(minimal_env, [MINIMAL_PATH], None, shelfwatch=False)]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="shelfwatch-cost-") as tmp:
        with deployments.embedded(Path(tmp)) as embedded:
            tokens = deployments.issue_tokens(embedded.env, Path(tmp) / "sqlite.tokens")
            results[embedded.name] = measure_in(embedded.env, paths, tokens, shelfwatch=True)
        if not args.skip_scale_out and deployments.scale_out_reachable():
            with deployments.scale_out(Path(tmp)) as scaled:
                tokens = deployments.issue_tokens(scaled.env, Path(tmp) / "postgres.tokens")
                results[scaled.name] = measure_in(scaled.env, paths, tokens, shelfwatch=True)
    # Before and after, the best counts: the yardstick at its fastest.
    minimal_runs.append(measure_in(minimal_env, [MINIMAL_PATH], None, shelfwatch=False))
    minimal_us = min(run["as configured"][MINIMAL_PATH] for run in minimal_runs)
    print()
    print("Microseconds per request, one thread, in-process (best of 7 interleaved rounds):\n")
    print(table(results, minimal_us, paths))
    print()
    print(parts_table(results))
    print()
    for name, data in results.items():
        ratios = ", ".join(
            f"{path} = {minimal_us / data['as configured'][path]:.2f}" for path in paths
        )
        print(f"{name}: {ratios} x minimal Ninja (in-process, single thread)")


if __name__ == "__main__":
    main()
