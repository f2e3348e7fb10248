"""Wiring done once at start-up: the feed topic and the feeds' place on stream processes."""

from __future__ import annotations


def connect() -> None:
    """Register the `feed:<name>` topic kind and serve feed streams natively."""
    from shelfwatch.events.server import register_stream_matcher
    from shelfwatch.events.topics import register_topic_kind
    from shelfwatch.feeds.models import NAME_PATTERN
    from shelfwatch.feeds.stream import is_feed_stream, serve_feed_stream
    from shelfwatch.feeds.topics import may_follow_feed

    # `feed:<name>` carries a dataset's refresh outcomes (feeds.refreshed/refresh_failed).
    register_topic_kind("feed", key_pattern=NAME_PATTERN, check=may_follow_feed)
    register_stream_matcher(is_feed_stream, serve_feed_stream)
