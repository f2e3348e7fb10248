"""Lighthouse on the shopper's pages of a fresh demo, on the phone profile.

Starts `shelfwatch demo` + `shelfwatch serve` in a scratch data directory, makes one
shopper session (a store chosen, an item in the cart) and runs Lighthouse 12.2.3 (npm,
installed into var/lighthouse on first use; Debian's Chromium) on the home, product,
cart and subscribe pages with that session's cookie. Lighthouse's default is the phone:
a Moto G-sized screen with simulated slow 4G and a 4x slower CPU. Each page is audited
`--runs` times and the median score per category is printed, with the targets
(performance >= 90; accessibility, best practices and SEO >= 95).

    python bench/lighthouse_pages.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx
from machine import describe, render
from servers import REPO_DIR, SHELFWATCH, clean_env, free_port, http_probe, run_checked, running

LIGHTHOUSE_VERSION = "12.2.3"
LIGHTHOUSE_DIR = REPO_DIR / "var" / "lighthouse"
LIGHTHOUSE = LIGHTHOUSE_DIR / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
# The flags a closed network needs (no background calls home) plus headless.
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync"
)
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGETS = {"performance": 90, "accessibility": 95, "best-practices": 95, "seo": 95}


def install_lighthouse() -> Path:
    """The pinned Lighthouse CLI, installed from npm the first time."""
    if not LIGHTHOUSE.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("Lighthouse needs npm (apt-get install npm)")
        LIGHTHOUSE_DIR.mkdir(parents=True, exist_ok=True)
        package = f"lighthouse@{LIGHTHOUSE_VERSION}"
        subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--prefix",
                str(LIGHTHOUSE_DIR),
                "-E",
                package,
            ],
            check=True,
            timeout=600,
        )
    return LIGHTHOUSE


def shopper_session(base: str) -> tuple[str, dict[str, str]]:
    """Choose the demo's first store and put its first product in the cart; returns the
    Cookie header for that session and the pages to audit."""
    with httpx.Client(base_url=base, timeout=10) as client:
        home = client.get("/").text
        store = re.search(r'<option value="(\d+)"', home).group(1)
        token = client.cookies.get("csrftoken", "")
        client.post("/store/", data={"store": store, "next": "/", "csrfmiddlewaretoken": token})
        shelf = client.get("/products/").text
        product = re.search(r'href="/products/(\d+)"', shelf).group(1)
        client.post(
            "/cart/add",
            data={
                "store": store,
                "product": product,
                "quantity": "1",
                "csrfmiddlewaretoken": client.cookies.get("csrftoken", token),
            },
        )
        assert 'class="line' in client.get("/cart/").text, "the cart stayed empty"
        cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    pages = {
        "home": "/",
        "product": f"/products/{product}",
        "cart": "/cart/",
        "subscribe": "/subscribe",
    }
    return cookie, pages


def audit(url: str, cookie: str, out: Path) -> dict[str, int]:
    """One Lighthouse run on `url`: each category's score out of 100."""
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={out}",
            f"--only-categories={','.join(CATEGORIES)}",
            f"--chrome-flags={CHROME_FLAGS}",
            f"--extra-headers={json.dumps({'Cookie': cookie})}",
        ],
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        check=True,
        timeout=300,
    )
    report = json.loads(out.read_text())
    return {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}


def failing_audits(out: Path) -> list[str]:
    """The weighted audits that did not pass in the last report, for the reader."""
    report = json.loads(out.read_text())
    found = []
    for name in CATEGORIES:
        for ref in report["categories"][name]["auditRefs"]:
            result = report["audits"][ref["id"]]
            if ref.get("weight") and result.get("score") is not None and result["score"] < 1:
                found.append(f"{name}:{ref['id']}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    install_lighthouse()
    print(render(describe()))
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {load}")
    print(f"lighthouse {LIGHTHOUSE_VERSION}, phone profile, median of {args.runs} runs")
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as scratch:
        data = Path(scratch)
        env = clean_env({"DATA_DIR": str(data / "data")})
        run_checked([SHELFWATCH, "demo"], env=env)
        port = free_port()
        argv = [SHELFWATCH, "serve", "--host", "127.0.0.1", "--port", str(port)]
        with running(
            "serve", argv, env=env, port=port, log_dir=data, probe=http_probe("/health")
        ) as server:
            cookie, pages = shopper_session(server.base_url)
            header = f"{'page':10}" + "".join(f"{name:>16}" for name in CATEGORIES)
            print(header)
            worst = dict.fromkeys(CATEGORIES, 100)
            for page, path in pages.items():
                out = data / f"{page}.json"
                runs = [audit(server.url(path), cookie, out) for _ in range(args.runs)]
                medians = {
                    name: int(statistics.median(run[name] for run in runs)) for name in CATEGORIES
                }
                for name in CATEGORIES:
                    worst[name] = min(worst[name], medians[name])
                print(f"{page:10}" + "".join(f"{medians[name]:>16}" for name in CATEGORIES))
                missed = failing_audits(out)
                if missed:
                    print(f"{'':10}not passed in the last run: {', '.join(missed)}")
    verdict = all(worst[name] >= TARGETS[name] for name in CATEGORIES)
    print(
        "lowest median: "
        + ", ".join(f"{name} {worst[name]} (target {TARGETS[name]})" for name in CATEGORIES)
        + (" -- all targets met" if verdict else " -- a target is missed")
    )


if __name__ == "__main__":
    main()
