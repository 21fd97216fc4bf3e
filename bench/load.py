"""The load generator: several client processes, each an asyncio loop of HTTP/1.1 keep-alive connections,
outside the hub's processes. Two ways to offer load:

- `closed(url, body, seconds, concurrency)`: that many requests in flight at all times (the most a
  server gives, as a client that waits for each answer sees it);
- `opened(url, body, seconds, rate)`: requests sent at a set rate whatever the answers (overload, and
  latency at a given load, as many independent citizens make it).

Each returns one `Answer` per request. `ceiling()` is the same client against an endpoint that does
nothing, so a figure can be read against what the generator itself can offer.
"""

import asyncio
import multiprocessing
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import aiohttp

from hub_shared.testing import random_national_id

SUBMISSION = {
    "kind": "complaint", "full_name": "سنجش کارایی", "phone": "09120000000",
    "address": "تهران، خیابان آزمون، پلاک ۱", "subject": "سنجش", "description": "پرونده‌ای برای سنجش توان سامانه.",
    "target": {"agency": "labour", "province": "tehran", "county": "rey"},
}
RATED_UNIT = "labour/tehran/rey/performance-office"
TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer (connection refused or reset, or the client's timeout)
    sent: float  # seconds after the run started
    took: float  # seconds until the answer
    retry_after: str | None = None
    case_id: str | None = None
    at: float = 0.0  # wall-clock time it was sent, to match with what other processes saw


def submission() -> dict:
    """Each from another citizen: one citizen's repeated matter would be linked, not registered."""
    return {**SUBMISSION, "national_id": random_national_id()}


def rating() -> dict:
    score = random.randint(1, 5)
    return {"unit_id": RATED_UNIT, "employee_id": f"e-{random.randint(1, 50)}", "score": score,
            "aspects": {"respect": score, "speed": random.randint(1, 5)}}


BODIES = {"case": submission, "rating": rating, "none": lambda: None}


def closed(url: str, body: str, seconds: float, concurrency: int, processes: int = 2) -> list[Answer]:
    return _fan_out(url, body, seconds, processes, concurrency=concurrency)


def opened(url: str, body: str, seconds: float, rate: float, processes: int = 2) -> list[Answer]:
    return _fan_out(url, body, seconds, processes, rate=rate)


def _fan_out(url: str, body: str, seconds: float, processes: int, concurrency: int = 0, rate: float = 0.0) -> list[Answer]:
    start_at = time.time() + 1.0  # every process starts on the same wall-clock second
    jobs = [(url, body, seconds, start_at, -(-concurrency // processes) if concurrency else 0, rate / processes, n)
            for n in range(processes)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        return [answer for part in pool.starmap(_client, jobs) for answer in part]


def _client(url: str, body: str, seconds: float, start_at: float, concurrency: int, rate: float, seed: int) -> list[Answer]:
    random.seed(os.getpid() * 1000 + seed)
    return asyncio.run(_run(url, BODIES[body], seconds, start_at, concurrency, rate))


async def _run(url: str, make_body, seconds: float, start_at: float, concurrency: int, rate: float) -> list[Answer]:
    answers: list[Answer] = []
    # aiohttp's client: about 0.2 ms of CPU a request here, against 4.5 ms for httpx's, so that on a 2-core
    # machine the generator does not take the CPU the hub needs, nor fall behind its own schedule.
    # Open loop: no limit on connections, so no request waits in the client for a free one.
    connector = aiohttp.TCPConnector(limit=concurrency or 0, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        began = time.monotonic()

        async def one() -> None:
            sent, at = time.monotonic(), time.time()
            payload = make_body()
            try:
                request = client.post(url, json=payload) if payload is not None else client.get(url)
                async with request as response:
                    status, retry_after = response.status, response.headers.get("retry-after")
                    body = await response.json(content_type=None) if status == 201 and payload and "kind" in payload else {}
            except (aiohttp.ClientError, TimeoutError):
                answers.append(Answer(0, sent - began, time.monotonic() - sent, at=at))
                return
            answers.append(Answer(status, sent - began, time.monotonic() - sent, retry_after, body.get("case_id"), at))

        if concurrency:
            async def worker() -> None:
                while time.monotonic() - began < seconds:
                    await one()

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        else:
            pending = set()
            for n in range(int(rate * seconds)):
                await asyncio.sleep(max(0.0, began + n / rate - time.monotonic()))
                task = asyncio.create_task(one())
                pending.add(task)
                task.add_done_callback(pending.discard)
            await asyncio.gather(*pending)
    return answers


def rate_of(answers: list[Answer], status: int = 201) -> float:
    """Answers with `status` per second, over the time from the first request sent to the last answer."""
    done = [a for a in answers if a.status == status]
    if not done:
        return 0.0
    return len(done) / max(a.sent + a.took for a in answers)


async def _nothing(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})


def serve_nothing(port: int) -> None:
    import uvicorn

    uvicorn.run(_nothing, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def nothing_server() -> Iterator[str]:
    """The URL of an endpoint that does nothing, in its own server process, for the generators' ceilings."""
    from hub_cli.stack import free_port, wait_for_port

    port = free_port()
    server = multiprocessing.get_context("spawn").Process(target=serve_nothing, args=(port,), daemon=True)
    server.start()
    try:
        wait_for_port("127.0.0.1", port, 20)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.join(5)


def ceiling(seconds: float = 5.0, concurrency: int = 32, processes: int = 2) -> float:
    """Requests/s this generator gets from an endpoint that does nothing."""
    with nothing_server() as url:
        return rate_of(closed(url, "none", seconds, concurrency, processes), 200)
