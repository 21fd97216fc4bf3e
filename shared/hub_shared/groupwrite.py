"""Group commits at an HTTP edge: concurrent requests share one transaction instead of paying one each.

Each request's write waits for the next transaction, which takes every write waiting (up to `max_batch`), so a
busy edge pays a transaction's fixed cost once per group, and an idle one writes at once. A request is answered
only after the transaction holding its write committed. Waits are bounded: a write that waited longer than the
queue budget for its group is refused `Overloaded` (503 with Retry-After) having stored nothing.
"""

import asyncio
import contextvars
import time
from collections import deque
from typing import Generic, TypeVar

from hub_shared.service import Overloaded

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupWriter(Generic[Item, Result]):
    def __init__(self, queue_seconds: float, max_batch: int) -> None:
        self._queue_seconds, self._max_batch = queue_seconds, max_batch
        self._waiting: deque[tuple[Item, asyncio.Future, float]] = deque()
        self._writer: asyncio.Task | None = None

    async def submit(self, item: Item) -> Result:
        """`item`'s result once its group committed; raises what its write raised, or `Overloaded`."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future, time.monotonic()))
        if self._writer is None or self._writer.done():
            # the writer's own spans and logs belong to no one request
            self._writer = asyncio.create_task(self._write(), context=contextvars.Context())
        return await future

    async def commit(self, items: list[Item]) -> list[Result | BaseException]:
        """Write `items` in one transaction: each one's result, or the exception it gets, in order."""
        raise NotImplementedError

    async def _write(self) -> None:
        while self._waiting:
            taken = [self._waiting.popleft() for _ in range(min(self._max_batch, len(self._waiting)))]
            since = time.monotonic() - self._queue_seconds
            group = []
            for item, future, queued_at in taken:
                if future.done():  # a request given up on
                    continue
                if queued_at < since:
                    future.set_exception(Overloaded())
                else:
                    group.append((item, future))
            if not group:
                continue
            results = await self.commit([item for item, _ in group])
            for (_, future), result in zip(group, results):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
