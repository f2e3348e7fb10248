"""Paired rounds: the ratios of http_baseline.py, robust to a machine whose speed drifts.

http_baseline.py measures its rows one after the other, so a VM that speeds up or slows
down over minutes moves the yardstick between rows (36 % between two runs here). This
script keeps the minimal Ninja project and `shelfwatch web` running side by side and, in
each round, measures the yardstick and ours back to back in a rotating order; each ratio
is taken within a round, and the medians over rounds are reported. Beside requests/s it
reports each server's CPU milliseconds per request (its process tree, from /proc) and
their ratio, which moves far less with other work on the machine, and the load average.

    .venv/bin/python bench/paired.py [--rounds 5] [--duration 5] [--skip-scale-out]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
from collections.abc import Iterator
from pathlib import Path

import cpuload
import deployments
import loadgen
import machine
from http_baseline import (
    BENCH_DIR,
    HEALTH,
    ME,
    MINIMAL_PATH,
    ONE_CALLER,
    granian_wsgi_argv,
)
from servers import Server, clean_env, free_port, http_probe, running, web_argv

CONNECTIONS = 32
THREADS = 4
TOKENS_SCRIPT = BENCH_DIR / "rotate_tokens.lua"


@contextlib.contextmanager
def minimal_ninja(workdir: Path) -> Iterator[Server]:
    env = clean_env(
        {"PYTHONPATH": str(BENCH_DIR), "DJANGO_SETTINGS_MODULE": "minimal_ninja.settings"}
    )
    port = free_port()
    argv = granian_wsgi_argv("minimal_ninja.wsgi:application", port, THREADS)
    with running(
        "paired-minimal", argv, env=env, port=port, log_dir=workdir, probe=http_probe(MINIMAL_PATH)
    ) as server:
        yield server


def rps(
    server: Server, path: str, seconds: float, token_file: Path | None = None
) -> tuple[float, float]:
    """Requests per second and the server's CPU milliseconds per request (its process
    tree, from /proc: far steadier than requests/s when other work shares the machine)."""
    script_env = {"BENCH_TOKENS_FILE": str(token_file)} if token_file else None
    window = cpuload.CpuWindow(server.proc.pid, database=None)
    window.start()
    result = loadgen.run_wrk(
        server.url(path),
        seconds=seconds,
        connections=CONNECTIONS,
        threads=2,
        script=TOKENS_SCRIPT if token_file else None,
        script_env=script_env,
    )
    share = window.stop()
    if not result.clean:
        raise RuntimeError(f"{path}: {result.non_2xx} non-2xx, {result.socket_errors} errors")
    return result.requests_per_s, share.server * share.seconds * 1000 / max(result.requests, 1)


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def paired_rounds(
    deployment: deployments.Deployment, workdir: Path, *, rounds: int, seconds: float
) -> dict[str, list[float]]:
    """Per round, the ratios ours / minimal for /health and /me: of requests/s (key path)
    and of CPU per request, minimal's ms / ours (key "cpu " + path)."""
    tokens = deployments.issue_tokens(deployment.env, workdir / f"{deployment.key}.tokens", 1)
    port = free_port()
    ratios: dict[str, list[float]] = {HEALTH: [], ME: [], "cpu " + HEALTH: [], "cpu " + ME: []}
    with (
        minimal_ninja(workdir) as minimal,
        running(
            f"paired-web-{deployment.key}",
            web_argv(port, THREADS),
            env=deployment.with_env(**ONE_CALLER),
            port=port,
            log_dir=workdir,
            probe=http_probe(HEALTH),
        ) as ours,
    ):
        rps(minimal, MINIMAL_PATH, 2)  # warm both up
        rps(ours, ME, 2, tokens)
        for index in range(rounds):
            for path in (HEALTH, ME):
                token_file = tokens if path == ME else None
                # Alternate which goes first, so a drift within the round cancels out too.
                if index % 2 == 0:
                    base, base_ms = rps(minimal, MINIMAL_PATH, seconds)
                    mine, mine_ms = rps(ours, path, seconds, token_file)
                else:
                    mine, mine_ms = rps(ours, path, seconds, token_file)
                    base, base_ms = rps(minimal, MINIMAL_PATH, seconds)
                ratios[path].append(mine / base)
                ratios["cpu " + path].append(base_ms / mine_ms)
                print(
                    f"  {deployment.name:<20} round {index + 1}: {path:<16}"
                    f" ours {mine:7,.0f}/s {mine_ms:.3f} ms  minimal {base:7,.0f}/s"
                    f" {base_ms:.3f} ms  ratio {mine / base:.2f}  CPU ratio {base_ms / mine_ms:.2f}"
                    f"  load {load_average()}",
                    flush=True,
                )
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--skip-scale-out", action="store_true")
    args = parser.parse_args()
    print(machine.render(machine.describe()), flush=True)
    print(f"load average at start: {load_average()}", flush=True)
    summary: list[tuple[str, str, list[float]]] = []
    with tempfile.TemporaryDirectory(prefix="shelfwatch-paired-") as tmp:
        workdir = Path(tmp)
        setups = [deployments.embedded]
        if not args.skip_scale_out and deployments.scale_out_reachable():
            setups.append(deployments.scale_out)
        for setup in setups:
            with setup(workdir) as deployment:
                ratios = paired_rounds(
                    deployment, workdir, rounds=args.rounds, seconds=args.duration
                )
                summary += [(deployment.name, path, values) for path, values in ratios.items()]
    print(f"\nload average at end: {load_average()}")
    print("\n| deployment | ratio | path | median | min - max | target |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, key, values in summary:
        path = key.removeprefix("cpu ")
        kind = "CPU per request, minimal ÷ ours" if key != path else "requests/s, ours ÷ minimal"
        target = ">= 0.80" if path == HEALTH else ">= 0.65"
        print(
            f"| {name} | {kind} | {path} | {statistics.median(values):.2f} |"
            f" {min(values):.2f} - {max(values):.2f} | {target} |"
        )


if __name__ == "__main__":
    main()
