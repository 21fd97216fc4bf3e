"""Every way a case arrives, on SQLite with the in-memory broker: staff entering cases for citizens,
other systems on hub.inbound.v1, anonymous misconduct reports, representatives, and duplicates."""

import uuid

import pytest
from sqlalchemy import update
from sqlmodel import select

from hub_intake.app import create_runtime
from hub_intake.models import Case, Complainant
from hub_shared.auth import Role
from hub_shared.events import (CaseLinked, CaseRegistered, Channel, Identity, SourceRef, SubmissionRejected, SubmitCase,
                               Target)
from hub_shared.testing import bearer, deliver, sqlite_runtime, staged

from .test_registration import VALID, count, intake, matter  # noqa: F401  (intake is a fixture)

MISCONDUCT = {"kind": "misconduct_report", "subject": "درخواست رشوه در باجه", "confidential": True,
              "description": "کارمند باجه برای انجام کار مبلغی خواست؛ تاریخ و ساعت را می‌دانم.",
              "target": {"agency": "labour", "province": "isfahan", "county": "kashan"}}


async def staged_types(runtime) -> list[type]:
    return [type(envelope.data) for envelope in await staged(runtime)]


@pytest.mark.parametrize("channel", ["phone_111", "letter", "in_person", "official_trip", "face_to_face"])
async def test_staff_enter_a_case_for_a_citizen_and_the_channel_is_recorded(intake, channel) -> None:
    runtime, client = intake
    response = await client.post("/api/v1/cases", json={**VALID, "channel": channel},
                                 headers=bearer(Role.expert, "labour/isfahan", subject="operator-12"))
    assert response.status_code == 201, response.text
    async with runtime.sessions() as session:
        case = (await session.exec(select(Case))).one()
    assert (case.channel, case.entered_by) == (channel, "operator-12")
    assert (await staged(runtime))[0].data.channel == Channel(channel)


@pytest.mark.parametrize("headers,channel,status,reason", [
    ({}, "letter", 401, "Only staff"),
    (bearer(Role.unit_responder, "labour"), "phone_111", 403, "does not grant cases:submit"),
    (bearer(Role.presidential_centre), "phone_111", 403, "does not grant cases:submit"),
    (bearer(Role.expert, "labour"), "samad", 403, "Staff enter cases from"),
    (bearer(Role.expert, "labour"), "web", 403, "Staff enter cases from"),
    ({"authorization": "Bearer forged"}, "web", 401, "not valid"),
])
async def test_only_staff_claim_an_assisted_channel(intake, headers, channel, status, reason) -> None:
    runtime, client = intake
    response = await client.post("/api/v1/cases", json={**VALID, "channel": channel}, headers=headers)
    assert response.status_code == status and reason in response.json()["error"]["message_en"]
    assert await count(runtime, Case) == 0


async def test_an_anonymous_misconduct_report_keeps_no_identity_and_is_followed_with_its_access_code(intake) -> None:
    runtime, client = intake
    response = await client.post("/api/v1/cases", json=MISCONDUCT)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["access_code"] and body["access_code"] in body["message_fa"]
    assert await count(runtime, Complainant) == 0
    event = (await staged(runtime))[0].data
    assert event.anonymous and event.citizen_ref is None and event.confidential
    tracked = await client.post("/api/v1/cases/track", json={"tracking_code": body["tracking_code"], "access_code": body["access_code"]})
    assert tracked.status_code == 200 and tracked.json()["status"] == "registered"
    by_id = await client.post("/api/v1/cases/track", json={"tracking_code": body["tracking_code"], "national_id": "2914177763"})
    wrong = await client.post("/api/v1/cases/track", json={"tracking_code": body["tracking_code"], "access_code": "0000000000"})
    assert by_id.status_code == wrong.status_code == 404


@pytest.mark.parametrize("change,code", [
    ({"kind": "complaint"}, "identity_required"),  # only a misconduct report may be anonymous
    ({"phone": "09121234567"}, "identity_required"),  # anonymous means no identity at all
    ({"email": "a@example.org"}, "anonymous_with_partial_identity"),
    ({"complainant_type": "legal", "organisation_name": "شرکت الف"}, "anonymous_with_partial_identity"),
])
async def test_identity_rules_for_anonymous_reports(intake, change, code) -> None:
    runtime, client = intake
    response = await client.post("/api/v1/cases", json={**MISCONDUCT, **change})
    assert response.status_code == 422 and response.json()["error"]["code"] == code
    assert response.json()["error"]["message_fa"] and await count(runtime, Case) == 0


async def test_a_group_or_legal_person_names_a_natural_person_representative(intake) -> None:
    runtime, client = intake
    unnamed = await client.post("/api/v1/cases", json={**VALID, "complainant_type": "group"})
    assert unnamed.status_code == 422 and unnamed.json()["error"]["code"] == "representative_required"
    named = await client.post("/api/v1/cases", json={**VALID, "complainant_type": "legal", "organisation_name": "تعاونی مسکن کارگران کاشان"})
    assert named.status_code == 201
    async with runtime.sessions() as session:
        case = (await session.exec(select(Case))).one()
    assert (case.complainant_type, case.organisation_name) == ("legal", "تعاونی مسکن کارگران کاشان")


async def test_the_same_open_matter_twice_is_linked_not_registered_again(intake) -> None:
    runtime, client = intake
    first = (await client.post("/api/v1/cases", json=VALID)).json()
    reworded = {**VALID, "description": VALID["description"].replace("سه بار", "سه مرتبه")}
    again = await client.post("/api/v1/cases", json=reworded)
    assert again.status_code == 200 and again.json()["linked"] is True
    assert again.json()["tracking_code"] == first["tracking_code"] and first["tracking_code"] in again.json()["message_fa"]
    assert await staged_types(runtime) == [CaseRegistered, CaseLinked]
    other_matter = await client.post("/api/v1/cases", json=matter(3))
    other_agency = await client.post("/api/v1/cases", json={**VALID, "target": {"agency": "health", "province": "isfahan"}})
    assert other_matter.status_code == other_agency.status_code == 201
    history = (await client.post("/api/v1/cases/track", json={"tracking_code": first["tracking_code"], "phone": "09121234567"})).json()
    assert [h["status"] for h in history["history"]] == ["registered", "registered"] and "پیوست" in history["history"][1]["note_fa"]


async def test_a_matter_already_answered_is_refused_with_the_earlier_code(intake) -> None:
    runtime, client = intake
    first = (await client.post("/api/v1/cases", json=VALID)).json()
    async with runtime.sessions() as session, session.begin():
        await session.exec(update(Case).where(Case.tracking_code == first["tracking_code"]).values(status="answered"))
    again = await client.post("/api/v1/cases", json=VALID)
    assert again.status_code == 422
    error = again.json()["error"]
    assert error["code"] == "already_answered" and error["earlier_tracking_code"] == first["tracking_code"]
    assert first["tracking_code"] in error["message_fa"] and await count(runtime, Case) == 1


def command(ref: str = "S-1001", system: str = "samad-gateway", channel: Channel = Channel.samad, **changes) -> SubmitCase:
    fields = dict(
        source=SourceRef(system=system, ref=ref), channel=channel, kind="complaint",
        identity=Identity(full_name="رضا کریمی", national_id="۳۱۷۰۶۶۹۰۷۹", phone="09151112233", address="مشهد، خیابان امام رضا، پلاک ۳"),
        title="عدم پرداخت حقوق", description="حقوق سه ماه گذشته پرداخت نشده و پاسخی داده نشده است.",
        target=Target(agency="labour", province="khorasan-razavi", county="mashhad"))
    return SubmitCase(**{**fields, **changes})


async def test_a_submission_from_another_system_is_registered_once_whatever_the_deliveries(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "intake", tmp_path)
    await deliver(runtime, command(), command(), command())  # three deliveries, three distinct event ids
    events = [envelope.data for envelope in await staged(runtime)]
    assert [type(e) for e in events] == [CaseRegistered]
    assert (events[0].channel, events[0].source_system, events[0].external_ref) == (Channel.samad, "samad-gateway", "S-1001")
    assert await count(runtime, Complainant) == 1, "identity from the bus is stored encrypted like any other"


@pytest.mark.parametrize("changes,code", [
    ({"system": "unknown-province-app"}, "unknown_source"),
    ({"channel": Channel.phone_111}, "channel_not_allowed"),
    ({"identity": Identity(full_name="رضا", national_id="3170669078", phone="09151112233", address="مشهد، پلاک ۳")}, "invalid_national_id"),
    ({"identity": None}, "identity_required"),
    ({"title": "x"}, "invalid_submission"),
    ({"target": Target(agency="labour", province="atlantis")}, "unknown_province"),
])
async def test_a_refused_submission_is_answered_with_the_senders_reference(tmp_path, changes, code) -> None:
    runtime = sqlite_runtime(create_runtime, "intake", tmp_path)
    await deliver(runtime, command(ref="S-77", **changes))
    [envelope] = await staged(runtime)
    refusal = envelope.data
    assert isinstance(refusal, SubmissionRejected) and refusal.reason_code == code
    assert (refusal.source.system, refusal.source.ref) == (changes.get("system", "samad-gateway"), "S-77")
    assert refusal.reason_fa and refusal.reason_en and envelope.data.subject().endswith(":S-77")
    assert "3170669078" not in refusal.reason_en, "the refusal does not echo personal data"
    assert await count(runtime, Case) == 0


async def test_the_same_case_through_several_channels_is_linked(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "intake", tmp_path)
    await deliver(runtime, command(ref="S-1"), command(ref="IO-9", channel=Channel.inspection_org),
                  command(ref="P-4", channel=Channel.presidential_office))
    events = [envelope.data for envelope in await staged(runtime)]
    assert [type(e) for e in events] == [CaseRegistered, CaseLinked, CaseLinked]
    assert {e.case_id for e in events} == {events[0].case_id}
    assert [(e.channel, e.external_ref) for e in events[1:]] == [(Channel.inspection_org, "IO-9"), (Channel.presidential_office, "P-4")]
    await deliver(runtime, command(ref="IO-9", channel=Channel.inspection_org))
    assert len(await staged(runtime)) == 3, "a linked reference sent again changes nothing"


async def test_an_anonymous_report_can_come_over_the_bus(tmp_path) -> None:
    runtime = sqlite_runtime(create_runtime, "intake", tmp_path)
    await deliver(runtime, command(ref="IO-1", channel=Channel.inspection_org, kind="misconduct_report", identity=None))
    [envelope] = await staged(runtime)
    assert isinstance(envelope.data, CaseRegistered) and envelope.data.anonymous


def test_a_bad_sources_file_stops_intake_with_the_setting_named(tmp_path, monkeypatch) -> None:
    bad = tmp_path / "sources.yaml"
    bad.write_text("Bad Name!: [samad]\n", encoding="utf-8")
    monkeypatch.setenv("HUB_INTAKE_SOURCES_FILE", str(bad))
    with pytest.raises(SystemExit, match="HUB_INTAKE_SOURCES_FILE"):
        sqlite_runtime(create_runtime, "intake", tmp_path)
    bad.write_text("province-app: [carrier_pigeon]\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="carrier_pigeon"):
        sqlite_runtime(create_runtime, "intake", tmp_path)


async def test_a_new_source_plugs_in_by_configuration(tmp_path, monkeypatch) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text("khorasan-razavi-portal: [agency_system, web]\n", encoding="utf-8")
    monkeypatch.setenv("HUB_INTAKE_SOURCES_FILE", str(sources))
    runtime = sqlite_runtime(create_runtime, "intake", tmp_path)
    await deliver(runtime, command(ref=str(uuid.uuid4()), system="khorasan-razavi-portal", channel=Channel.agency_system))
    assert await staged_types(runtime) == [CaseRegistered]
