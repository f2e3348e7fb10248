"""How many streams one client address holds, counted where every stream process sees it.

Without Redis each process counts its own streams (a dict), so with several stream
processes an address may hold that many times the limit. With REDIS_URL the streams of an
address are members of one Redis sorted set, each scored with the time its lease runs out:
admitting a stream drops the expired members, counts the rest and adds one, in a single Lua
call, so two processes can never both take the last place. Each process renews the leases
of its open streams every third of the lease and removes a stream's member when it closes.
A process that dies without closing its streams stops renewing them, so its members drop
out once their lease runs out: the address gets its room back within one lease.

Redis's own clock scores the leases, so processes on hosts whose clocks disagree still
agree on what has expired. If Redis cannot be reached the stream is admitted on this
process's count alone: a Redis outage must not refuse every stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from dataclasses import dataclass

import redis
import redis.asyncio as aioredis
from django.conf import settings
from django.db import connections

logger = logging.getLogger("shelfwatch.events.client_streams")

# KEYS[1] the address's set; ARGV: lease ms, limit, member. Returns {admitted, held}.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[2]) then
  return {0, held}
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return {1, held + 1}
"""

# KEYS[1] the address's set; ARGV: lease ms, then this process's members in it. A member
# that dropped out meanwhile (Redis was out of reach longer than a lease) is added back:
# its stream is still open and counts.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + lease, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], lease)
return #ARGV - 1
"""


@dataclass(frozen=True)
class Admission:
    """The answer to one stream request: `admitted` or not, and how many streams the
    address holds (counting this one when admitted). `member` names the stream's lease."""

    admitted: bool
    held: int
    member: str | None = None


class ProcessStreamCounts:
    """Streams per address in this process only (the embedded setup, or no Redis).

    Runs on one event loop with no await between the check and the count, so it needs no
    lock. `by_client` lists only addresses that hold a stream.
    """

    def __init__(self, limit: int) -> None:
        self.limit = int(limit)
        self.by_client: dict[str, int] = {}

    async def admit(self, client: str) -> Admission:
        """Count a stream for `client` unless it already holds `limit` (0: no limit)."""
        held = self.by_client.get(client, 0)
        if 0 < self.limit <= held:
            return Admission(False, held)
        self.by_client[client] = held + 1
        return Admission(True, held + 1)

    async def release(self, client: str, admission: Admission) -> None:
        """Give back the place `admission` took."""
        left = self.by_client.get(client, 0) - 1
        if left > 0:
            self.by_client[client] = left
        else:
            self.by_client.pop(client, None)

    async def close(self) -> None:
        """Nothing to stop."""


class SharedStreamCounts(ProcessStreamCounts):
    """Streams per address across every stream process, in Redis (see the module text).

    The process's own count (`by_client`) is kept too: it answers when Redis is out of
    reach and shows what this process holds.
    """

    def __init__(self, limit: int, *, url: str, lease_seconds: float, prefix: str) -> None:
        super().__init__(limit)
        self.url = url
        self.lease_ms = max(1, round(lease_seconds * 1000))
        self.prefix = prefix
        # Address -> the members of this process's open streams in its set.
        self.members: dict[str, set[str]] = {}
        self._client: aioredis.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._renewer: asyncio.Task | None = None
        self._tag = f"{os.uname().nodename}:{os.getpid()}"

    def key(self, client: str) -> str:
        """The Redis key of `client`'s streams."""
        return f"{self.prefix}:streams:{client}"

    def _redis(self) -> aioredis.Redis:
        # An asyncio Redis client belongs to the loop it was made on.
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = aioredis.Redis.from_url(
                self.url, socket_timeout=2, socket_connect_timeout=2
            )
            self._loop = loop
            self._renewer = None
        return self._client

    async def admit(self, client: str) -> Admission:
        """Admit a stream for `client` if every process together holds fewer than `limit`."""
        if self.limit <= 0:
            return await super().admit(client)
        member = f"{self._tag}:{uuid.uuid4().hex}"
        try:
            admitted, held = await self._redis().eval(
                _ADMIT, 1, self.key(client), self.lease_ms, self.limit, member
            )
        except (redis.RedisError, OSError) as exc:
            logger.warning("counting streams in Redis failed (%s); counting this process's", exc)
            return await super().admit(client)
        if not admitted:
            return Admission(False, int(held))
        self.by_client[client] = self.by_client.get(client, 0) + 1
        self.members.setdefault(client, set()).add(member)
        self._keep_renewing()
        return Admission(True, int(held), member)

    async def release(self, client: str, admission: Admission) -> None:
        """Give back the place `admission` took, here and in Redis."""
        await super().release(client, admission)
        if admission.member is None:
            return
        try:
            await self._redis().zrem(self.key(client), admission.member)
        except (redis.RedisError, OSError) as exc:
            # Its lease is no longer renewed: the place comes back when it runs out.
            logger.warning("releasing a stream in Redis failed (%s)", exc)
        # Forgotten only now: a release cut short (the process stopping) is left to close().
        members = self.members.get(client)
        if members is not None:
            members.discard(admission.member)
            if not members:
                del self.members[client]

    async def renew(self) -> None:
        """Extend the lease of every stream this process holds (one call per address)."""
        for client, members in list(self.members.items()):
            if not members:
                continue
            try:
                await self._redis().eval(
                    _RENEW, 1, self.key(client), self.lease_ms, *sorted(members)
                )
            except (redis.RedisError, OSError) as exc:
                logger.warning("renewing stream leases in Redis failed (%s)", exc)
                return

    def _keep_renewing(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(self._renew_forever())

    async def _renew_forever(self) -> None:
        interval = self.lease_ms / 3000
        while self.members:
            await asyncio.sleep(interval)
            await self.renew()

    async def close(self) -> None:
        """Give back the places of streams still counted here, stop renewing and close the
        Redis connection (the process is stopping)."""
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._renewer
            self._renewer = None
        if self.members and self._client is not None:
            try:
                pipe = self._redis().pipeline(transaction=False)
                for client, members in self.members.items():
                    pipe.zrem(self.key(client), *members)
                await pipe.execute()
                self.members.clear()
            except (redis.RedisError, OSError) as exc:
                logger.warning("releasing streams in Redis on stop failed (%s)", exc)
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.aclose()
            self._client = None


def stream_counts(limit: int) -> ProcessStreamCounts:
    """Counts shared through Redis when REDIS_URL is set, else this process's own."""
    if not settings.REDIS_URL:
        return ProcessStreamCounts(limit)
    return SharedStreamCounts(
        limit,
        url=settings.REDIS_URL,
        lease_seconds=settings.STREAM_CLIENT_LEASE_SECONDS,
        # Per database, as the event channel is: deployments (or a test run beside a dev
        # server) sharing one Redis keep their counts apart.
        prefix=f"shelfwatch:{connections['default'].settings_dict['NAME']}",
    )
