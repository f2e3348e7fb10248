"""How many streams one process can hold: the configured limit, within its open-files limit."""

from __future__ import annotations

import logging
import resource

logger = logging.getLogger("shelfwatch.events")

# Connections a stream process accepts beyond its stream limit: room to answer the clients
# over the limit (503, then the connection closes) and ordinary requests such as /health.
OVERFLOW_CONNECTIONS = 1024
# Descriptors a stream process needs besides client sockets: the listening socket, database
# and Redis connections, log and metric files.
OTHER_FILES = 256


def stream_capacity(configured: int) -> int:
    """`configured` streams, or fewer when the open-files limit could not hold them.

    Past that limit the server would fail to accept connections at all; capped here, the
    clients over it get the usual 503 with Retry-After instead.
    """
    configured = max(1, int(configured))
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return configured
    room = max(1, soft - OVERFLOW_CONNECTIONS - OTHER_FILES)
    if configured <= room:
        return configured
    logger.warning(
        "STREAM_MAX_CLIENTS is %d but the open-files limit (%d) leaves room for %d streams; "
        "holding at most %d (raise the limit, e.g. LimitNOFILE or ulimit -n, to hold more)",
        configured,
        soft,
        room,
        room,
    )
    return room
