"""Generated sections of bench/RESULTS.md: a benchmark's printed report, replaced in place.

A section sits between `<!-- NAME: generated section, refreshed by --write-results -->`
and `<!-- /NAME -->`; a benchmark run with --write-results puts what it printed there, so
the file holds the figures a script printed and nothing typed by hand in between.
"""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def marks(name: str) -> tuple[str, str]:
    """The opening and closing marks of section `name`."""
    return f"<!-- {name}: generated section, refreshed by --write-results -->", f"<!-- /{name} -->"


def write_section(name: str, section: str, *, path: Path = RESULTS) -> None:
    """Replace section `name` of the results file with `section` (or append it)."""
    begin, end = marks(name)
    block = f"{begin}\n\n{section.strip()}\n\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
