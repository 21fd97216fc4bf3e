"""Abuse control for public endpoints: token buckets per key (client IP, citizen pseudonym), in memory.

Limits hold per service process; behind several replicas the effective limit is the sum, which the
deployment sizes accordingly (or enforces again at the ingress).
"""

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`capacity` requests at once, refilled at `per_minute` a minute, remembered for at most `max_keys` keys."""

    def __init__(self, capacity: int, per_minute: float, max_keys: int = 100_000, clock=time.monotonic) -> None:
        self._capacity = capacity
        self._rate = per_minute / 60
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @classmethod
    def allowing(cls, count: int, minutes: float) -> "RateLimiter":
        """`count` requests per `minutes` for each key, all of them usable at once."""
        return cls(capacity=count, per_minute=count / minutes)

    def allow(self, key: str) -> bool:
        return self.take(key, 1)

    def take(self, key: str, cost: float) -> bool:
        now = self._clock()
        bucket = self._buckets.pop(key, None) or _Bucket(tokens=self._capacity, updated=now)
        bucket.tokens = min(self._capacity, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        allowed = bucket.tokens >= cost
        if allowed:
            bucket.tokens -= cost
        self._buckets[key] = bucket
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return allowed

    def exhausted(self, key: str) -> bool:
        """No token left for `key` right now (nothing is consumed)."""
        return not self.take(key, 0) or self._buckets[key].tokens < 1

    def retry_after(self, key: str) -> int:
        bucket = self._buckets.get(key)
        missing = 1 - (bucket.tokens if bucket else self._capacity)
        return max(1, int(missing / self._rate + 0.999)) if self._rate else 3600


class TooManyRequests(HTTPException):
    def __init__(self, retry_after: int) -> None:
        super().__init__(status_code=429, headers={"Retry-After": str(retry_after)}, detail={
            "code": "too_many_requests",
            "message_fa": f"تعداد درخواست‌ها بیش از حد مجاز است؛ {retry_after} ثانیه دیگر دوباره تلاش کنید.",
            "message_en": f"Too many requests; try again in {retry_after} seconds.",
        })


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def citizen_address(trusted: str) -> Callable[[Request], str]:
    """`request` → the address to count it against, given comma-separated trusted addresses or networks.

    A request that comes through a proxy the deployment trusts (the citizen's portal) is counted against the
    address that proxy names in `X-Forwarded-For`, not against the proxy, so one busy portal does not exhaust
    every citizen's allowance. From any other peer the header is ignored: a client cannot choose its own bucket."""
    networks = trusted_networks(trusted)

    def address(request: Request) -> str:
        peer = client_ip(request)
        forwarded = request.headers.get("x-forwarded-for", "")
        if not networks or not forwarded or not _within(peer, networks):
            return peer
        return forwarded.rsplit(",", 1)[-1].strip() or peer  # the hop the trusted proxy added

    return address


def trusted_networks(trusted: str) -> list:
    """Comma-separated addresses or networks; a ValueError names a bad entry (settings validate with it)."""
    return [ipaddress.ip_network(item.strip(), strict=False) for item in trusted.split(",") if item.strip()]


def _within(peer: str, networks: list) -> bool:
    try:
        return any(ipaddress.ip_address(peer) in network for network in networks)
    except ValueError:
        return False


def enforce(limiter: RateLimiter, key: str) -> None:
    if not limiter.allow(key):
        raise TooManyRequests(limiter.retry_after(key))
