"""Releasing anonymous ratings: held briefly, then published in shuffled batches.

A rating published the moment it is given would carry, in its broker timestamp and trace, the minute
of the visit, which an employee could match to the citizen they just served. Held and shuffled, a
batch says only "these ratings were given since the last release".
"""

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine

from sqlmodel import select

from hub_intake.models import PendingRating
from hub_shared.events import Aspects, RatingSubmitted
from hub_shared.service import Runtime

log = logging.getLogger(__name__)
BATCH = 5000
_shuffle = random.SystemRandom().shuffle


async def release_ratings(runtime: Runtime) -> int:
    """Stage every pending rating (up to BATCH) as an event, in random order, and forget the pending rows."""
    async with runtime.sessions() as session, session.begin():
        pending = list((await session.exec(select(PendingRating).limit(BATCH).with_for_update(skip_locked=True))).all())
        _shuffle(pending)
        for rating in pending:
            runtime.stage(session, RatingSubmitted(
                rating_id=rating.rating_id, unit_id=rating.unit_id, employee_id=rating.employee_id, score=rating.score,
                aspects=Aspects(respect=rating.respect, speed=rating.speed, quality=rating.quality, conduct=rating.conduct),
                rated_on=rating.rated_on))
            await session.delete(rating)
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
