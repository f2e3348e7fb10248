"""The one pass over an HTML page that product extraction reads from.

`PageParser` collects what `page_data` needs, without building a DOM: JSON-LD scripts,
meta tags, microdata items shaped like JSON-LD, the visible text, links, the title, and the
text inside the first element a simple selector ('tag', '.class', '#id', 'tag.class') names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

_SELECTOR = re.compile(r"^(?P<tag>[a-z][a-z0-9]*)?(?:\.(?P<cls>[\w-]+)|#(?P<id>[\w-]+))?$")


def selector_is_valid(selector: str) -> bool:
    """True for a selector of a supported form: 'tag', '.class', '#id' or 'tag.class'."""
    return _selector_parts(selector) is not None


def _selector_parts(selector: str) -> tuple[str, str, str] | None:
    """`tag`, `.class`, `#id` or `tag.class`; None for anything else."""
    match = _SELECTOR.match(selector.strip())
    if match is None or not any(match.groups()):
        return None
    return match["tag"] or "", match["cls"] or "", match["id"] or ""


@dataclass
class _Scope:
    """An open microdata itemscope: the item being built and how to know where it ends."""

    item: dict[str, Any]
    tag: str
    depth: int = 1


class PageParser(HTMLParser):
    """One pass over a page: its JSON-LD scripts, meta tags, microdata items, visible text,
    links, title and the text under an optional price selector."""

    def __init__(self, selector: str = "") -> None:
        super().__init__(convert_charrefs=True)
        self.selector = _selector_parts(selector) if selector else None
        self.selected: list[str] = []
        self.visible: list[str] = []
        self._skip = 0
        self._select_depth = 0
        self._select_tag = ""
        self.scripts: list[str] = []
        self.meta: dict[str, list[str]] = {}
        # Microdata as JSON-LD-shaped dicts: top-level items, and loose itemprops outside
        # any itemscope (pages that sprinkle itemprop="price" without the item markup).
        self.items: list[dict[str, Any]] = []
        self.loose: dict[str, Any] = {}
        self._scopes: list[_Scope] = []
        self.links: list[str] = []
        self.title = ""
        self._in_title = False
        self._in_ld = False
        self._ld_parts: list[str] = []
        self._text_prop: str | None = None
        self._text_parts: list[str] = []

    def _put(self, prop: str, value: Any) -> None:
        target = self._scopes[-1].item if self._scopes else self.loose
        for name in prop.split():
            if name in target:
                if not isinstance(target[name], list):
                    target[name] = [target[name]]
                target[name].append(value)
            else:
                target[name] = value

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag in ("script", "style", "noscript", "template"):
            self._skip += 1
        if tag == "title":
            self._in_title = True
        if self._select_depth and tag == self._select_tag:
            self._select_depth += 1
        elif self.selector and not self._select_depth and not self.selected:
            want_tag, want_class, want_id = self.selector
            if (
                (not want_tag or tag == want_tag)
                and (not want_class or want_class in values.get("class", "").split())
                and (not want_id or values.get("id") == want_id)
            ):
                self._select_depth, self._select_tag = 1, tag
        prop = values.get("itemprop", "")
        opens_scope = "itemscope" in values and tag not in ("meta", "link", "img")
        if self._scopes and tag == self._scopes[-1].tag and not opens_scope:
            self._scopes[-1].depth += 1
        if tag == "script" and "ld+json" in values.get("type", "").lower():
            self._in_ld = True
            self._ld_parts = []
            return
        if tag == "meta":
            key = (values.get("property") or values.get("name") or "").lower()
            if key and "content" in values:
                self.meta.setdefault(key, []).append(values["content"])
        if "itemscope" in values:
            kind = values.get("itemtype", "").split()
            item: dict[str, Any] = {"@type": kind[0] if kind else ""}
            if prop and self._scopes:
                self._put(prop, item)
            elif not self._scopes:
                self.items.append(item)
            if opens_scope:
                self._scopes.append(_Scope(item, tag))
            return
        if tag == "a" and values.get("href"):
            self.links.append(values["href"])
        if prop:
            if "content" in values:
                self._put(prop, values["content"])
            elif tag in ("link", "a") and values.get("href"):
                self._put(prop, values["href"])
            elif tag == "img" and values.get("src"):
                self._put(prop, values["src"])
            elif tag not in ("img", "link", "meta"):
                self._text_prop = prop
                self._text_parts = []

    def handle_data(self, data: str) -> None:
        if self._in_ld:
            self._ld_parts.append(data)
            return
        if self._in_title:
            self.title += data
            return
        if self._text_prop is not None:
            self._text_parts.append(data)
        if not self._skip:
            self.visible.append(data)
            if self._select_depth:
                self.selected.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript", "template") and self._skip:
            self._skip -= 1
        if tag == "title":
            self._in_title = False
        if self._select_depth and tag == self._select_tag:
            self._select_depth -= 1
        if tag == "script" and self._in_ld:
            self._in_ld = False
            self.scripts.append("".join(self._ld_parts))
        elif self._text_prop is not None:
            text = " ".join("".join(self._text_parts).split())
            if text:
                self._put(self._text_prop, text)
            self._text_prop = None
        if self._scopes and tag == self._scopes[-1].tag:
            self._scopes[-1].depth -= 1
            if not self._scopes[-1].depth:
                self._scopes.pop()
