"""Attachments on SQLite: the citizen or staff attach scanned documents; type, size and content are
checked; the same file is kept once; staff who may see the case read it back, and the read is audited."""

import base64
import hashlib

import pytest

from hub_intake.models import Attachment, AuditEntry
from hub_shared.auth import Role
from hub_shared.testing import bearer, deliver

from .test_citizen import routed
from .test_registration import VALID, count, intake  # noqa: F401  (intake is a fixture)

PDF = b"%PDF-1.7\n" + "نامه اداره کار — صفحه ۱".encode() + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
KASHAN = "labour/isfahan/kashan/performance-office"


def upload(content: bytes = PDF, media_type: str = "application/pdf", filename: str = "نامه.pdf") -> dict:
    return {"filename": filename, "media_type": media_type, "content_base64": base64.b64encode(content).decode()}


async def filed(runtime, client) -> dict:
    case = (await client.post("/api/v1/cases", json=VALID)).json()
    await deliver(runtime, routed(case["case_id"], case["tracking_code"]))
    return case


async def test_the_citizen_attaches_a_letter_and_staff_read_it_back_audited(intake) -> None:
    runtime, client = intake
    case = await filed(runtime, client)
    sent = await client.post("/api/v1/cases/track/attachments",
                             json={"tracking_code": case["tracking_code"], "national_id": "2914177763", **upload()})
    assert sent.status_code == 201, sent.text
    assert sent.json()["sha256"] == hashlib.sha256(PDF).hexdigest() and sent.json()["uploaded_by"] is None
    staff = bearer(Role.expert, KASHAN, subject="p-5")
    listed = (await client.get(f"/api/v1/cases/{case['case_id']}/attachments", headers=staff)).json()
    assert [(a["filename"], a["size"]) for a in listed] == [("نامه.pdf", len(PDF))]
    got = await client.get(f"/api/v1/cases/{case['case_id']}/attachments/{listed[0]['attachment_id']}", headers=staff)
    assert got.status_code == 200 and got.content == PDF and got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-type-options"] == "nosniff" and "attachment;" in got.headers["content-disposition"]
    assert await count(runtime, AuditEntry) == 1
    elsewhere = await client.get(f"/api/v1/cases/{case['case_id']}/attachments", headers=bearer(Role.expert, "labour/tehran"))
    assert elsewhere.status_code == 403


async def test_the_same_file_twice_is_kept_once_and_staff_may_add_more(intake) -> None:
    runtime, client = intake
    case = await filed(runtime, client)
    proof = {"tracking_code": case["tracking_code"], "phone": "09121234567"}
    first = await client.post("/api/v1/cases/track/attachments", json={**proof, **upload()})
    again = await client.post("/api/v1/cases/track/attachments", json={**proof, **upload(filename="copy.pdf")})
    assert again.json()["attachment_id"] == first.json()["attachment_id"]
    by_staff = await client.post(f"/api/v1/cases/{case['case_id']}/attachments", json=upload(PNG, "image/png", "scan.png"),
                                 headers=bearer(Role.expert, KASHAN, subject="operator-3"))
    assert by_staff.status_code == 201 and by_staff.json()["uploaded_by"] == "operator-3"
    assert await count(runtime, Attachment) == 2


@pytest.mark.parametrize("change,status,code", [
    (upload(b"MZ\x90\x00 an executable", "application/pdf"), 415, "unsupported_attachment"),
    (upload(PNG, "application/pdf"), 415, "unsupported_attachment"),
    (upload(PDF, "text/html"), 415, "unsupported_attachment"),
    ({**upload(), "content_base64": "not base64!!"}, 422, "invalid_base64"),
    (upload(b"%PDF-" + bytes(4_000_001)), 413, "attachment_too_large"),
    (upload(filename="../../etc/passwd\x00.pdf"), 422, "invalid_request"),
])
async def test_bad_files_are_refused_with_a_reason_and_keep_nothing(intake, change, status, code) -> None:
    runtime, client = intake
    case = await filed(runtime, client)
    response = await client.post("/api/v1/cases/track/attachments",
                                 json={"tracking_code": case["tracking_code"], "national_id": "2914177763", **change})
    assert response.status_code == status and response.json()["error"]["code"] == code, response.text
    assert await count(runtime, Attachment) == 0


async def test_a_path_in_the_file_name_is_dropped(intake) -> None:
    runtime, client = intake
    case = await filed(runtime, client)
    response = await client.post("/api/v1/cases/track/attachments", json={
        "tracking_code": case["tracking_code"], "national_id": "2914177763", **upload(filename="..\\..\\windows\\نامه.pdf")})
    assert response.status_code == 201 and response.json()["filename"] == "نامه.pdf"


async def test_only_the_citizen_of_the_case_or_staff_may_attach(intake) -> None:
    runtime, client = intake
    case = await filed(runtime, client)
    stranger = await client.post("/api/v1/cases/track/attachments",
                                 json={"tracking_code": case["tracking_code"], "national_id": "3170669079", **upload()})
    responder = await client.post(f"/api/v1/cases/{case['case_id']}/attachments", json=upload(),
                                  headers=bearer(Role.unit_responder, KASHAN))
    assert stranger.status_code == 404 and responder.status_code == 403
    assert await count(runtime, Attachment) == 0


async def test_the_limits_are_public_so_a_form_can_state_them_before_upload(intake) -> None:
    _, client = intake
    response = await client.get("/api/v1/attachments/policy")
    assert response.status_code == 200, response.text
    assert response.json() == {"max_bytes": 4_000_000, "max_per_case": 10,
                               "media_types": ["application/pdf", "image/jpeg", "image/png", "image/tiff"]}
