"""Known bots, by user agent, from the maintained `crawler-user-agents` patterns."""

from __future__ import annotations

import re
from functools import cache, lru_cache

from crawleruseragents import CRAWLER_USER_AGENTS_DATA

# Longer agents are cut: the patterns look at names near the front, and the cache key stays small.
MAX_AGENT_LENGTH = 512


@cache
def _patterns() -> re.Pattern[str]:
    # One alternation compiled once: a single regex pass per new agent string.
    return re.compile("|".join(f"(?:{entry['pattern']})" for entry in CRAWLER_USER_AGENTS_DATA))


@lru_cache(maxsize=4096)
def _is_bot(agent: str) -> bool:
    return _patterns().search(agent) is not None


def is_bot(user_agent: str) -> bool:
    """Whether `user_agent` is a known crawler; an empty agent counts as one (browsers send it)."""
    agent = user_agent[:MAX_AGENT_LENGTH]
    return not agent.strip() or _is_bot(agent)
