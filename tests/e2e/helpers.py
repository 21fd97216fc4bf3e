import asyncio
import json
import uuid
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from hub_cli.stack import Stack
from hub_shared.auth import Role
from hub_shared.testing import bearer, random_national_id


def submission(**overrides) -> dict:
    """A complaint by a different citizen each time (one citizen's repeated matter is linked, not registered)."""
    return {
        "kind": "complaint",
        "full_name": "مریم کاظمی",
        "national_id": random_national_id(),
        "phone": "09351234567",
        "address": "مشهد، بلوار وکیل‌آباد، پلاک ۴۰",
        "subject": "تاخیر در صدور پروانه",
        "description": f"درخواست پروانه من چهار ماه است بی‌پاسخ مانده است. {uuid.uuid4().hex[:6]}",
        "target": {"agency": "labour", "province": "khorasan-razavi", "county": "mashhad"},
        **overrides,
    }


def staff_headers(unit: str = "national") -> dict[str, str]:
    """A national supervisor's token, signed with the key the test stack runs with (the development default)."""
    return bearer(Role.national_supervisor, unit, subject="e2e-supervisor")


def submit(hub: Stack, **overrides) -> dict:
    response = httpx.post(f"{hub.url('intake')}/api/v1/cases", json=submission(**overrides), timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


class NotYet(AssertionError):
    pass


def wait_for_status(hub: Stack, tracking_code: str, status: str, history: int = 1, seconds: float = 30) -> dict:
    @retry(stop=stop_after_delay(seconds), wait=wait_fixed(0.1), retry=retry_if_exception_type((NotYet, httpx.HTTPError)), reraise=True)
    def poll() -> dict:
        response = httpx.get(f"{hub.url('reporting')}/api/v1/status/{tracking_code}", timeout=5,
                             headers=bearer(Role.presidential_centre))
        if response.status_code != 200:
            raise NotYet(f"status of {tracking_code}: HTTP {response.status_code}")
        body = response.json()
        if body["status"] != status or len(body["history"]) < history:
            raise NotYet(f"{tracking_code} is {body['status']} with {len(body['history'])} history entries")
        return body

    return poll()


def wait_for_tracking(hub: Stack, query: dict, status: str, seconds: float = 20) -> dict:
    """What the citizen sees in intake, which follows the bus on its own consumer and may trail reporting."""
    @retry(stop=stop_after_delay(seconds), wait=wait_fixed(0.1), retry=retry_if_exception_type((NotYet, httpx.HTTPError)), reraise=True)
    def poll() -> dict:
        response = httpx.post(f"{hub.url('intake')}/api/v1/cases/track", json=query, timeout=5)
        if response.status_code != 200:
            raise NotYet(f"tracking {query['tracking_code']}: HTTP {response.status_code} {response.text}")
        body = response.json()
        if body["status"] != status:
            raise NotYet(f"{query['tracking_code']} is {body['status']} in intake")
        return body

    return poll()


def spans(hub: Stack) -> list[dict]:
    found = []
    for path in (hub.data_dir / "traces").glob("*.jsonl"):
        found += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return found


def log_lines(hub: Stack) -> list[str]:
    return [line for path in (hub.data_dir / "logs").glob("*.log") if path.name != "broker.log"
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]


def read_all(bootstrap: str, topic: str) -> list:
    async def run() -> list:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            await consumer._client.force_metadata_update()
            partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
            consumer.assign(partitions)
            await consumer.seek_to_beginning()
            ends = await consumer.end_offsets(partitions)
            records = []
            async def behind() -> bool:
                return any([await consumer.position(tp) < end for tp, end in ends.items()])

            while await behind():
                batches = await consumer.getmany(timeout_ms=500)
                records += [record for batch in batches.values() for record in batch]
            return records
        finally:
            await consumer.stop()

    return asyncio.run(run())


def files_text(folder: Path) -> str:
    """Every log and trace file. Not `outbox/`: the embedded SMS/e-mail stand-in, which holds what a real
    gateway would be handed (the citizen's phone), is the one place contact data is meant to reach."""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in folder.rglob("*")
                     if path.is_file() and path.suffix in {".log", ".jsonl"} and "outbox" not in path.relative_to(folder).parts)
