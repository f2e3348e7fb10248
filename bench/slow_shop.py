"""A slow shop for benchmarks: tests/fakes/fast_shops.py with every answer held back.

Same hosts, pages, ETags and control port as `FastShops`; each response is written
`--delay-ms` after its request arrived (other connections are served meanwhile, so N
requests in flight take one delay, not N). Run from the repository root:

    .venv/bin/python bench/slow_shop.py --hosts 1 --items 100 --mix jsonld=1 --delay-ms 100 \
        --port 0 --stop-on-stdin-eof

It prints the same startup line as fast_shops and serves until SIGTERM/SIGINT (or until its
stdin closes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.fast_http import Late, serve
from tests.fakes.fast_shops import FastShops, HostState, _parse_mix


class SlowShops(FastShops):
    """FastShops whose every answer is written `delay` seconds after the request."""

    thread_name = "slow-shops"

    def __init__(self, *args, delay: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.delay = delay

    def _serve(
        self, host: HostState, method: bytes, target: bytes, rest: bytes, lower: bytes, body: bytes
    ) -> bytes | Late:
        answer = super()._serve(host, method, target, rest, lower, body)
        return Late(answer, self.delay) if self.delay > 0 else answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mix", default="jsonld=1")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--first-address", default="127.0.0.1")
    parser.add_argument("--delay-ms", type=float, default=100.0)
    parser.add_argument("--stop-on-stdin-eof", action="store_true", help="exit when stdin closes")
    args = parser.parse_args()
    shops = SlowShops(
        args.hosts,
        args.items,
        port=args.port,
        mix=_parse_mix(args.mix),
        first_address=args.first_address,
        seed=args.seed,
        delay=args.delay_ms / 1000,
    )
    serve(shops, stop_on_stdin_eof=args.stop_on_stdin_eof)


if __name__ == "__main__":
    main()
