"""Blocking Django work (ORM, authentication) off the stream process's event loop.

A few threads of its own bound the database connections one stream process holds, and
let `close()` close every one of them on shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections

P = ParamSpec("P")
T = TypeVar("T")


def _with_connection_hygiene(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    # These threads live as long as the process, outside any request cycle: drop connections
    # that errored or outlived CONN_MAX_AGE before use, as Django does per request.
    close_old_connections()
    return func(*args, **kwargs)


class DatabaseThreads:
    """Runs sync callables on `size` threads; each thread keeps its own DB connection.

    One single-thread executor per lane (rather than one shared pool) so each thread is
    known and can be told to close its connection; calls go to the least busy lane.
    Use from one event loop only.
    """

    def __init__(self, size: int = 4) -> None:
        self._lanes = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"events-db-{n}")
            for n in range(size)
        ]
        self._busy = [0] * size

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """The result of `func(*args, **kwargs)`, run on the least busy thread after stale
        connections are closed; exceptions propagate."""
        lane = min(range(len(self._lanes)), key=self._busy.__getitem__)
        call = partial(_with_connection_hygiene, func, *args, **kwargs)
        self._busy[lane] += 1
        try:
            return await sync_to_async(call, thread_sensitive=False, executor=self._lanes[lane])()
        finally:
            self._busy[lane] -= 1

    async def close(self) -> None:
        """Close each thread's database connections, then stop the threads."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(lane, connections.close_all) for lane in self._lanes),
            return_exceptions=True,
        )
        for lane in self._lanes:
            lane.shutdown(wait=False)
