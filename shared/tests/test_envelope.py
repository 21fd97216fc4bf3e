import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat

from hub_shared.envelope import MalformedMessage, from_kafka, to_kafka, wrap
from hub_shared.events import CaseRejected


def rejected() -> CaseRejected:
    return CaseRejected(case_id=uuid4(), tracking_code="12345678903", reason_code="unclear_target",
                        reason_fa="مرجع نامشخص", reason_en="unclear target", rejected_at=datetime.now(UTC))


def as_bytes(headers: dict[str, str]) -> dict[str, bytes]:
    return {name: value.encode() for name, value in headers.items()}


def test_binary_mode_headers_and_round_trip() -> None:
    event = rejected()
    key, value, headers = to_kafka(wrap(event, "/hub/routing"))
    assert key == str(event.case_id).encode()
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_type"] == "ir.hub.case.rejected.v1"
    assert headers["ce_source"] == "/hub/routing"
    assert headers["ce_subject"] == str(event.case_id)
    assert headers["content-type"] == "application/json"
    assert json.loads(value)["reason_code"] == "unclear_target"
    parsed = from_kafka(key, value, as_bytes(headers), 1_000_000)
    assert parsed.data == event


def test_a_stock_cloudevents_reader_understands_our_messages() -> None:
    key, value, headers = to_kafka(wrap(rejected(), "/hub/routing"))
    event = ce_kafka.from_binary(ce_kafka.KafkaMessage(headers=as_bytes(headers), key=key, value=value), JSONFormat())
    assert event.get_type() == "ir.hub.case.rejected.v1"
    assert event.get_data()["tracking_code"] == "12345678903"


def test_malformed_messages_are_refused_with_a_reason() -> None:
    key, value, headers = to_kafka(wrap(rejected(), "/hub/routing"))
    with pytest.raises(MalformedMessage, match="larger than"):
        from_kafka(key, value, as_bytes(headers), 10)
    with pytest.raises(MalformedMessage, match="unknown event type"):
        from_kafka(key, value, as_bytes({**headers, "ce_type": "ir.hub.nonsense.v1"}), 1_000_000)
    with pytest.raises(MalformedMessage, match="not a CloudEvents"):
        from_kafka(key, value, {}, 1_000_000)
    with pytest.raises(MalformedMessage):
        from_kafka(key, b"{not json", as_bytes(headers), 1_000_000)


def test_schema_errors_do_not_echo_the_input_values() -> None:
    key, _, headers = to_kafka(wrap(rejected(), "/hub/routing"))
    body = json.dumps({"case_id": "not-a-uuid-0084575948", "tracking_code": "1"}).encode()
    with pytest.raises(MalformedMessage) as error:
        from_kafka(key, body, as_bytes(headers), 1_000_000)
    assert "0084575948" not in str(error.value)
    assert "case_id" in str(error.value)
