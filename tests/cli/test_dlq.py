"""`hub dlq list` and `hub dlq show` on a real broker, over letters a real consumer dead-lettered.

The broker is shared by the whole session, so its DLQ holds other tests' letters too: each assertion
looks only at the letters of this module's own consumer groups.
"""

import json
import re
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from hub_routing.app import create_runtime
from hub_shared.consumer import Subscription
from hub_shared.envelope import to_kafka, wrap
from hub_shared.events import CaseRejected
from hub_shared.topics import CASES, DLQ
from tests.cli.operator import hub
from tests.integration.test_messaging import header, read_topic, rejected, settings_for

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module")
async def failing_group(kafka_bootstrap, tmp_path_factory) -> dict:
    """routing's consumer, in a fresh group, dead-letters an event its handler refuses and a record that is not JSON.

    They come from a topic of this module's own: a record left on hub.cases.v1 would be dead-lettered again by
    every later test's fresh consumer group, and change what those tests count."""
    tmp_path = tmp_path_factory.mktemp("dlq-cli")
    origin = f"test.dlq-cli.{uuid.uuid4().hex[:8]}"
    await create_topic(kafka_bootstrap, origin)
    runtime = create_runtime(settings_for(f"sqlite+aiosqlite:///{tmp_path}/routing.db", kafka_bootstrap, tmp_path))
    runtime.migrate()
    group = f"dlq-cli-{uuid.uuid4().hex[:8]}"
    poison = rejected(f"poison-{uuid.uuid4().hex[:6]}")

    async def effect(session, envelope) -> None:
        raise RuntimeError("the unit [labour/x] is unknown")  # brackets: an error is printed as text, not markup

    runtime.add_subscription(Subscription(topic=origin, group=group, handlers={CaseRejected.event_type: effect}))
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    await runtime.broker.start()
    try:
        key, value, headers = to_kafka(wrap(poison, "/test"))
        await producer.send_and_wait(origin, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
        await producer.send_and_wait(origin, b"\x00garbage", key=key, headers=[("ce_type", CaseRejected.event_type.encode())])
        letters = await read_topic(kafka_bootstrap, DLQ.name, lambda r: header(r, "hub_dlq_consumer_group") == group, 2)
    finally:
        await runtime.broker.stop()
        await producer.stop()
        await runtime.engine.dispose()
    assert len(letters) == 2
    return {"group": group, "origin": origin, "case": str(poison.case_id), "ids": sorted(f"{r.partition}:{r.offset}" for r in letters),
            "poison": next(r for r in letters if r.value != b"\x00garbage")}


async def create_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1)])
    finally:
        await admin.close()


@pytest.fixture(scope="module")
async def other_group(kafka_bootstrap) -> dict:
    """Two letters as the consumer writes them for another group: one held behind a failed event, one without its body."""
    group = f"other-{uuid.uuid4().hex[:6]}"
    case = str(uuid.uuid4())
    common = [("ce_type", b"ir.hub.case.routed.v1"), ("ce_subject", case.encode()), ("hub_dlq_origin_topic", CASES.name.encode()),
              ("hub_dlq_origin_partition", b"4"), ("hub_dlq_consumer_group", group.encode()), ("hub_dlq_attempts", b"1")]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        held = await producer.send_and_wait(DLQ.name, b'{"case_id": "%s", "unit": "u"}' % case.encode(), key=case.encode(), headers=[
            *common, ("hub_dlq_origin_offset", b"41"), ("hub_dlq_error", b"HeldBack: an earlier event of this case is in the DLQ"),
            ("hub_dlq_held_behind", b"event-1")])
        slim = await producer.send_and_wait(DLQ.name, b"", key=case.encode(), headers=[
            *common, ("hub_dlq_origin_offset", b"42"), ("hub_dlq_error", b"MessageSizeTooLargeError: larger than 1048576 bytes"),
            ("hub_dlq_body_omitted", b"MessageSizeTooLargeError: 1200015 bytes; the original stays at its origin offset")])
    finally:
        await producer.stop()
    return {"group": group, "case": case, "held": f"{held.partition}:{held.offset}", "slim": f"{slim.partition}:{slim.offset}"}


def dlq(kafka_bootstrap: str, *args: str):
    return hub("dlq", *args, "--bootstrap", kafka_bootstrap)


def listed(kafka_bootstrap: str, group: str) -> list[dict]:
    result = dlq(kafka_bootstrap, "list", "--group", group, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_shows_each_letter_with_its_reason_origin_and_age(kafka_bootstrap, failing_group) -> None:
    letters = listed(kafka_bootstrap, failing_group["group"])
    assert sorted(letter["id"] for letter in letters) == failing_group["ids"]
    refused = next(letter for letter in letters if letter["error"].startswith("RuntimeError"))
    assert refused["error"] == "RuntimeError: the unit [labour/x] is unknown"
    assert refused["event_type"] == CaseRejected.event_type and refused["subject"] == failing_group["case"]
    assert refused["origin"] == {"topic": failing_group["origin"], "partition": 0, "offset": 0}
    assert refused["consumer_group"] == failing_group["group"] and refused["attempts"] >= 1
    assert 0 <= refused["age_seconds"] < 3600 and refused["held_behind"] is None and refused["body_omitted"] is None
    malformed = next(letter for letter in letters if letter is not refused)
    assert "Malformed" in malformed["error"] or "CloudEvents" in malformed["error"]

    table = dlq(kafka_bootstrap, "list", "--group", failing_group["group"])
    assert table.exit_code == 0, table.output
    [row] = [line for line in table.stdout.splitlines() if "RuntimeError" in line]
    assert refused["id"] in row and "[labour/x]" in row and f"{failing_group['origin']}/0@0" in row and failing_group["case"] in row
    assert "case.rejected.v1" in row
    assert re.search(r"\s\d+[sm]\s", row), "a fresh letter's age is in seconds or minutes"
    assert f"2 dead letters from {failing_group['group']}" in table.stdout


def test_group_filters_and_limit_keeps_the_newest(kafka_bootstrap, failing_group, other_group) -> None:
    others = listed(kafka_bootstrap, other_group["group"])
    assert [letter["id"] for letter in others] == [other_group["held"], other_group["slim"]], "oldest first"
    assert others[0]["held_behind"] == "event-1" and others[1]["body_omitted"].startswith("MessageSizeTooLargeError")
    assert not {letter["id"] for letter in others} & set(failing_group["ids"])
    newest = dlq(kafka_bootstrap, "list", "--group", other_group["group"], "--limit", "1", "--json")
    assert [letter["id"] for letter in json.loads(newest.stdout)] == [other_group["slim"]]
    everyone = dlq(kafka_bootstrap, "list", "--limit", "0", "--json")
    assert {other_group["held"], other_group["slim"], *failing_group["ids"]} <= {letter["id"] for letter in json.loads(everyone.stdout)}
    nobody = dlq(kafka_bootstrap, "list", "--group", "no-such-group")
    assert nobody.exit_code == 0 and "no dead letters from no-such-group" in nobody.stdout


def test_listing_twice_sees_the_same_letters(kafka_bootstrap, other_group) -> None:
    """Listing uses no consumer group: nothing is consumed, so nothing moves on."""
    first, second = (listed(kafka_bootstrap, other_group["group"]) for _ in range(2))
    assert [letter["id"] for letter in first] == [letter["id"] for letter in second] == [other_group["held"], other_group["slim"]]


def test_show_prints_every_header_and_the_body_as_json(kafka_bootstrap, failing_group) -> None:
    poison = failing_group["poison"]
    result = dlq(kafka_bootstrap, "show", f"{poison.partition}:{poison.offset}")
    assert result.exit_code == 0, result.output
    for name, value in poison.headers:
        assert f"  {name}: {value.decode()}" in result.stdout
    body = result.stdout.split("body:\n", 1)[1]
    assert json.loads(body) == json.loads(poison.value), "the body, pretty-printed"
    assert "\n  " in body


def test_show_says_when_the_body_was_omitted(kafka_bootstrap, other_group) -> None:
    result = dlq(kafka_bootstrap, "show", other_group["slim"])
    assert result.exit_code == 0, result.output
    assert "body: omitted (MessageSizeTooLargeError: 1200015 bytes" in result.stdout and f"{CASES.name}/4@42" in result.stdout
    shown = json.loads(dlq(kafka_bootstrap, "show", other_group["held"], "--json").stdout)
    assert shown["body"] == {"case_id": other_group["case"], "unit": "u"} and ["hub_dlq_held_behind", "event-1"] in shown["headers"]


@pytest.mark.parametrize("letter_id,message", [
    ("abc", "not a dead letter ID: 'abc'"),
    ("1-2", "not a dead letter ID: '1-2'"),
    ("99:0", f"no dead letter 99:0: {DLQ.name} has partitions 0, 1, 2"),
    ("0:999999999", "no dead letter 0:999999999: partition 0 of hub.dlq.v1 holds"),
])
def test_an_id_that_names_no_letter_is_refused_in_one_line(kafka_bootstrap, letter_id, message) -> None:
    result = dlq(kafka_bootstrap, "show", letter_id)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_unreachable_broker_is_one_line_and_exit_1(unused_port) -> None:
    result = hub("dlq", "list", "--bootstrap", f"127.0.0.1:{unused_port}")
    assert result.exit_code == 1 and "did not answer" in result.output and "Traceback" not in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.fixture
def unused_port() -> int:
    from hub_cli.stack import free_port

    return free_port()
