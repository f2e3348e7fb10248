"""Paired rounds: the ratios of http_baseline.py, robust to a machine whose speed drifts.

http_baseline.py measures its rows one after the other, so a VM that speeds up or slows
down over minutes moves the yardstick between rows (36 % between two runs here). This
script keeps the minimal Ninja project and `shelfwatch web` running side by side and, in
each round, measures the yardstick and ours back to back in a rotating order; each ratio
is taken within a round, and the medians over rounds are reported.

    .venv/bin/python bench/paired.py [--rounds 5] [--duration 5] [--skip-scale-out]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
from collections.abc import Iterator
from pathlib import Path

import deployments
import loadgen
from http_baseline import (
    BENCH_DIR,
    HEALTH,
    ME,
    MINIMAL_PATH,
    ONE_CALLER,
    granian_wsgi_argv,
    web_argv,
)
from servers import Server, clean_env, free_port, http_probe, running

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


def rps(server: Server, path: str, seconds: float, token_file: Path | None = None) -> float:
    script_env = {"BENCH_TOKENS_FILE": str(token_file)} if token_file else None
    result = loadgen.run_wrk(
        server.url(path),
        seconds=seconds,
        connections=CONNECTIONS,
        threads=2,
        script=TOKENS_SCRIPT if token_file else None,
        script_env=script_env,
    )
    if not result.clean:
        raise RuntimeError(f"{path}: {result.non_2xx} non-2xx, {result.socket_errors} errors")
    return result.requests_per_s


def paired_rounds(
    deployment: deployments.Deployment, workdir: Path, *, rounds: int, seconds: float
) -> dict[str, list[float]]:
    """Per round, the ratio ours / minimal for /health and /me."""
    tokens = deployments.issue_tokens(deployment.env, workdir / f"{deployment.key}.tokens", 1)
    port = free_port()
    ratios: dict[str, list[float]] = {HEALTH: [], ME: []}
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
                    base = rps(minimal, MINIMAL_PATH, seconds)
                    mine = rps(ours, path, seconds, token_file)
                else:
                    mine = rps(ours, path, seconds, token_file)
                    base = rps(minimal, MINIMAL_PATH, seconds)
                ratios[path].append(mine / base)
                print(
                    f"  {deployment.name:<20} round {index + 1}: {path:<16}"
                    f" ours {mine:7,.0f}  minimal {base:7,.0f}  ratio {mine / base:.2f}",
                    flush=True,
                )
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--skip-scale-out", action="store_true")
    args = parser.parse_args()
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
    print("\n| deployment | path | median ratio to minimal Ninja | min - max | target |")
    print("| --- | --- | --- | --- | --- |")
    for name, path, values in summary:
        target = ">= 0.70" if path == HEALTH else ">= 0.50"
        print(
            f"| {name} | {path} | {statistics.median(values):.2f} |"
            f" {min(values):.2f} - {max(values):.2f} | {target} |"
        )


if __name__ == "__main__":
    main()
