"""Whether a caller's copy of a feed is current: the whole of a revalidation's work.

A feed's clients mostly revalidate (If-None-Match) and mostly hold the current snapshot.
The answer depends on who asks (the same access rule as every read), the dataset's
current snapshot (its row is read again on each request: a new snapshot is seen at once)
and whether the client takes gzip; nothing else of the request matters for the stored
representation, which is what a request without query parameters asks for.
"""

from __future__ import annotations

from shelfwatch.accounts.principal import Principal
from shelfwatch.feeds.access import get_dataset_for
from shelfwatch.feeds.delivery import Representation, accepts_gzip, etag_for, matches_etag


def current_tag_held(
    principal: Principal, name: str, *, if_none_match: str, accept_encoding: str
) -> str | None:
    """The ETag of dataset `name`'s stored representation when `if_none_match` names it (the
    client's copy is current), else None. Raises as `get_dataset_for` does when the caller
    may not read the dataset or it does not exist."""
    dataset = get_dataset_for(principal, name)
    snapshot = dataset.current_snapshot
    if snapshot is None:
        return None
    etag = etag_for(snapshot, Representation(gzip=accepts_gzip(accept_encoding)))
    return etag if matches_etag(if_none_match, etag) else None
