"""Releasing anonymous ratings: held briefly, then published in shuffled batches.

A rating published the moment it is given would carry, in its broker timestamp and trace, the minute
of the visit, which an employee could match to the citizen they just served. Held and shuffled, a
batch says only "these ratings were given since the last release".
"""

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine

from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy import delete, insert
from sqlmodel import col, select

from hub_intake.models import PendingRating
from hub_shared.db import is_locked
from hub_shared.events import Aspects, RatingSubmitted
from hub_shared.groupwrite import GroupWriter
from hub_shared.messaging import trace_context
from hub_shared.service import Overloaded, Runtime

log = logging.getLogger(__name__)
BATCH = 5000
_shuffle = random.SystemRandom().shuffle


class RatingWriter(GroupWriter[dict, None]):
    """Visit ratings given at the same time are stored together: one insert for every rating waiting (`GroupWriter`),
    each answered once its transaction committed. A group that could not take SQLite's write lock within
    HUB_HTTP_QUEUE_SECONDS is refused `Overloaded`, having stored nothing."""

    def __init__(self, runtime: Runtime, max_batch: int = 500) -> None:
        super().__init__(runtime.settings.http_queue_seconds, max_batch)
        self._runtime = runtime

    async def commit(self, ratings: list[dict]) -> list[None | BaseException]:
        try:  # not even a SQL span (the writer runs in a context of its own): its start time would date the visits
            with suppress_instrumentation():
                async with self._runtime.edge_sessions() as session, session.begin():
                    await session.execute(insert(PendingRating), ratings)
        except Exception as error:
            if is_locked(error):
                log.warning("group of %d ratings refused: the write lock stayed taken", len(ratings))
                return [Overloaded() for _ in ratings]
            log.error("group of %d ratings could not be stored: %s", len(ratings), type(error).__name__)
            return [error for _ in ratings]
        return [None for _ in ratings]


async def release_ratings(runtime: Runtime) -> int:
    """Stage every pending rating (up to BATCH) as an event, in random order, and forget the pending rows."""
    async with runtime.sessions() as session, session.begin():
        pending = list((await session.exec(select(PendingRating).limit(BATCH).with_for_update(skip_locked=True))).all())
        _shuffle(pending)
        context = trace_context()
        await runtime.stage_all(session, [(RatingSubmitted(
            rating_id=rating.rating_id, unit_id=rating.unit_id, employee_id=rating.employee_id, score=rating.score,
            aspects=Aspects(respect=rating.respect, speed=rating.speed, quality=rating.quality, conduct=rating.conduct),
            rated_on=rating.rated_on), context) for rating in pending])
        if pending:  # the session ends here: its loaded rows need not be matched against the delete (that cost n x n)
            await session.execute(delete(PendingRating).where(col(PendingRating.rating_id).in_([r.rating_id for r in pending]))
                                  .execution_options(synchronize_session=False))
    if pending:
        runtime.committed()
        log.info("released %d ratings", len(pending))
    return len(pending)


def releaser(runtime: Runtime, every_seconds: float) -> Callable[[], Coroutine[None, None, None]]:
    async def release_ratings_periodically() -> None:
        while True:
            await asyncio.sleep(every_seconds)
            try:
                await release_ratings(runtime)
            except Exception:  # the database may be away; the ratings wait for the next round
                log.exception("releasing ratings failed; retrying in %.0f s", every_seconds)

    return release_ratings_periodically
