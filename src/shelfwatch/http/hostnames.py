"""Host names as the network will see them: punycode labels checked by the IDNA rules, so
a name no registry may hand out ("xn--ls8h.la", an emoji) is refused where it is typed,
not at send time."""

from __future__ import annotations

import idna


def host_name_problem(host: str) -> str | None:
    """Why `host` cannot name a host (a punycode label that is not a valid IDNA A-label),
    or None. Plain ASCII labels are left to the caller's own rules."""
    for label in host.rstrip(".").split("."):
        if label[:4].lower() != "xn--":
            continue
        try:
            idna.decode(label)
        except (idna.IDNAError, UnicodeError, ValueError) as exc:
            return f"{label!r} is not a valid international name: {exc}"
    return None
