"""The steps on a case as forms on the staff's case page, against stand-ins for the services: each role is offered
only its own steps, a step goes to the service that owns it with the user's token, a refusal (the portal's or the
service's) comes back with every answer kept, and a unit's documents reach the case or, where the role keeps no
files in the hub, are referred to by their fingerprint."""

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hub_shared.auth import AuthSettings, Role, verify
from hub_shared.passwords import hash_password
from hub_shared.settings import HubSettings
from hub_shared.users import User, UserRegistry
from hub_web.app import create_app
from hub_web.settings import WebSettings
from hub_web.upstream import Answer, Upstream

PASSWORD = "a long enough secret"
CASE = "6f1c1c1e-5b0a-4d55-9a53-1f8e3c1f0a11"
FILE_ID = "0b5e3a52-2f55-4f0e-9a3c-5d0c7e0a1b22"
UNIT = "labour/tehran/rey/performance-office"
PDF = b"%PDF-1.7\nanswer\n%%EOF\n"
SOON = (datetime.now(UTC) + timedelta(days=20)).isoformat()


class Services:
    """Stands in for intake, followup and routing: answers the reads, records the steps sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str, dict]] = []
        self.step_answer = Answer(201, {"case_id": CASE, "step": "opinion", "stage": "opinion_given", "clock_paused": None})
        self.upload_status = 201

    async def as_staff(self, upstream, client, path, token, route, params=None):
        verify(AuthSettings(), token)
        if path == f"/api/v1/cases/{CASE}":
            return Answer(200, {"case_id": CASE, "case_number": "1405-00000042", "tracking_code": "12345678903", "kind": "complaint",
                                "channel": "web", "complainant_type": "natural", "organisation_name": None, "subject": "مستمری",
                                "description": "شرح", "agency": "labour", "province": "tehran", "county": "rey", "confidential": False,
                                "status": "referred", "unit_id": UNIT, "unit_name": "دفتر ری", "deadline_at": SOON, "registered_at": SOON,
                                "answer_outcome": None, "answer_fa": None, "legal_grounds": None, "answered_at": None,
                                "objections": [], "history": []})
        if path.endswith("/work"):
            return Answer(200, {"case_id": CASE, "stage": "responded", "steps": [
                {"step": "response", "at": SOON, "actor": "responder-1", "actor_role": "unit_responder", "actor_unit": UNIT, "unit_id": UNIT,
                 "text": "پاسخ واحد با سند", "outcome": None, "legal_grounds": None, "attachments": [FILE_ID, "sha256:" + "a" * 64],
                 "clock_paused": None, "source_system": None, "source_ref": None}]})
        if path.endswith("/timers"):
            return Answer(200, {"items": [{"ladder": 1, "step": "reminder-5", "unit_id": UNIT, "due_at": SOON, "status": "fired", "attempts": 1},
                                          {"ladder": 1, "step": "follow-up-2", "unit_id": UNIT, "due_at": SOON, "status": "pending", "attempts": 0}]})
        if path.endswith("/attachments"):
            return Answer(200, {"items": [{"attachment_id": FILE_ID, "filename": "نامه.pdf", "media_type": "application/pdf", "size": 2048,
                                           "sha256": "b" * 64, "uploaded_at": SOON, "uploaded_by": None}]})
        if path == "/api/v1/org/units":
            return Answer(200, {"items": [{"id": UNIT, "name_fa": "دفتر ری", "name_en": None},
                                          {"id": "labour/tehran/rey/pensions", "name_fa": "واحد مستمری ری", "name_en": "Rey pensions unit"}]})
        raise AssertionError(path)

    async def send_as_staff(self, upstream, client, method, path, token, route, body):
        principal = verify(AuthSettings(), token)
        self.sent.append((principal.subject, method, path, body))
        if path.endswith("/attachments"):
            if self.upload_status != 201:
                return Answer(self.upload_status, {"error": {"code": "forbidden", "message_fa": "نه", "message_en": "no"}})
            return Answer(201, {"attachment_id": "9c1d7e0a-1b22-4f0e-9a3c-5d0c0b5e3a52", "filename": body["filename"]})
        return self.step_answer


@pytest.fixture
def services(monkeypatch) -> Services:
    stand_in = Services()
    monkeypatch.setattr(Upstream, "as_staff", lambda self, *args, **kw: stand_in.as_staff(self, *args, **kw))
    monkeypatch.setattr(Upstream, "send_as_staff", lambda self, *args: stand_in.send_as_staff(self, *args))

    async def policy(self):
        return {"max_bytes": 4_000_000, "max_per_case": 10, "media_types": ["application/pdf", "image/png"]}

    async def places(self):
        return {"agencies": [{"code": "labour", "name_fa": "وزارت کار", "name_en": None},
                             {"code": "interior", "name_fa": "وزارت کشور", "name_en": "Ministry of Interior"}], "provinces": []}

    monkeypatch.setattr(Upstream, "attachment_policy", policy)
    monkeypatch.setattr(Upstream, "places", places)
    return stand_in


@pytest.fixture
def registry(tmp_path: Path) -> UserRegistry:
    users = UserRegistry(tmp_path / "users.json")
    for name, role in (("expert", Role.expert), ("responder", Role.unit_responder), ("manager", Role.office_manager)):
        users.add(User(subject=name, role=role, unit=UNIT, password_hash=hash_password(PASSWORD)))
    return users


async def signed_in(registry: UserRegistry, name: str) -> tuple[httpx.AsyncClient, str]:
    app = create_app(HubSettings(service_name="web"), WebSettings(users_file=registry.path))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")
    token = re.search(r'name="form_token" value="([^"]+)"', (await client.get("/staff/sign-in")).text)[1]
    signed = await client.post("/staff/sign-in", data={"form_token": token, "username": name, "password": PASSWORD})
    assert signed.status_code == 303
    return client, token


def forms_on(page: str) -> set[str]:
    return set(re.findall(rf'action="/staff/cases/{CASE}/actions/([a-z-]+)"', page))


async def test_each_role_is_offered_its_own_steps_beside_the_ladder_the_work_and_the_attachments(registry, services) -> None:
    expert, _ = await signed_in(registry, "expert")
    page = (await expert.get(f"/staff/cases/{CASE}")).text
    assert forms_on(page) == {"response", "information-request", "information-received", "opinion", "field-inspection", "forward",
                              "transfer", "return", "reject", "classification", "attachment"}
    assert "پیگیری ۲" in page and "یادآوری ۵ روز کاری پیش از مهلت" in page and "در انتظار" in page
    assert "پاسخ واحد با سند" in page and "responder-1" in page and "مرحله رسیدگی:" in page and "پاسخ واحد ثبت شده" in page
    assert f'href="/staff/cases/{CASE}/attachments/{FILE_ID}"' in page and "نامه.pdf" in page
    assert "سند نزد دستگاه" in page  # a document the agency keeps, by its fingerprint
    assert "مهلت پاسخ حفظ می‌شود" in page  # the transfer form says the clock is kept
    assert "واحد مستمری ری" in page and "وزارت کشور" in page and 'value="labour"' not in page.split("form-transfer")[1].split("</form>")[0]
    responder, _ = await signed_in(registry, "responder")
    assert forms_on((await responder.get(f"/staff/cases/{CASE}")).text) == {"response"}
    manager, _ = await signed_in(registry, "manager")
    offered = forms_on((await manager.get(f"/staff/cases/{CASE}")).text)
    assert {"approval", "rework", "forward", "reject"} <= offered and "opinion" not in offered and "field-inspection" not in offered


async def test_a_step_goes_to_its_service_and_leads_to_a_page_that_says_it_was_taken(registry, services) -> None:
    expert, token = await signed_in(registry, "expert")
    taken = await expert.post(f"/staff/cases/{CASE}/actions/opinion",
                              data={"form_token": token, "text": "  شکایت   وارد است.  ", "proposed_outcome": "upheld"})
    assert taken.status_code == 303 and taken.headers["location"] == f"/staff/cases/{CASE}/done/opinion"
    assert services.sent == [("expert", "POST", f"/api/v1/cases/{CASE}/opinion", {"text": "شکایت وارد است.", "proposed_outcome": "upheld"})]
    done = await expert.get(taken.headers["location"])
    assert done.status_code == 200 and "نظر کارشناسی ثبت شد." in done.text
    services.step_answer = Answer(200, {"case_id": CASE, "unit_id": "labour/tehran/rey/pensions", "status": "forwarded"})
    forwarded = await expert.post(f"/staff/cases/{CASE}/actions/forward",
                                  data={"form_token": token, "unit_id": "labour/tehran/rey/pensions", "reason": "موضوع مستمری"})
    assert forwarded.status_code == 303
    assert services.sent[-1] == ("expert", "POST", f"/api/v1/cases/{CASE}/forward",
                                 {"unit_id": "labour/tehran/rey/pensions", "reason": "موضوع مستمری"})
    manager, manager_token = await signed_in(registry, "manager")
    sent_back = await manager.post(f"/staff/cases/{CASE}/actions/rework", data={"form_token": manager_token, "reason": "مدرک پرداخت پیوست شود"})
    assert sent_back.status_code == 303 and "کار برای اصلاح بازگردانده شد." in (await manager.get(sent_back.headers["location"])).text
    assert services.sent[-1] == ("manager", "POST", f"/api/v1/cases/{CASE}/approval", {"decision": "rework", "reason": "مدرک پرداخت پیوست شود"})
    rejected = await manager.post(f"/staff/cases/{CASE}/actions/reject", data={"form_token": manager_token, "reason_code": "unreasoned", "note": ""})
    assert rejected.status_code == 303
    assert services.sent[-1] == ("manager", "POST", f"/api/v1/cases/{CASE}/reject", {"reason_code": "unreasoned", "note": ""})
    topic = await manager.post(f"/staff/cases/{CASE}/actions/classification", data={"form_token": manager_token, "topic": "pension-insurance"})
    assert topic.status_code == 303 and services.sent[-1] == ("manager", "PUT", f"/api/v1/cases/{CASE}/classification", {"topic": "pension-insurance"})


async def test_a_refused_form_keeps_every_answer_and_says_how_to_fix_it_in_persian(registry, services) -> None:
    expert, token = await signed_in(registry, "expert")
    short = await expert.post(f"/staff/cases/{CASE}/actions/transfer", data={"form_token": token, "agency": "interior", "reason": "کوتاه"})
    assert short.status_code == 422 and services.sent == []
    assert "دلیل انتقال را بنویسید (۱۰ تا ۱۰۰۰ حرف)." in short.text and ">کوتاه</textarea>" in short.text
    assert '<option value="interior" selected>' in short.text and 'href="#f-transfer-reason"' in short.text
    services.step_answer = Answer(409, {"error": {"code": "too_many_transfers", "message_fa": "پرونده بیش از ۲ بار منتقل شده است.",
                                                  "message_en": "The case was already transferred 2 times."}})
    refused = await expert.post(f"/staff/cases/{CASE}/actions/transfer",
                                data={"form_token": token, "agency": "interior", "reason": "موضوع در صلاحیت وزارت کشور است"})
    assert refused.status_code == 409 and "پرونده بیش از ۲ بار منتقل شده است." in refused.text
    assert "موضوع در صلاحیت وزارت کشور است</textarea>" in refused.text
    await expert.get("/lang/en")
    expert.cookies.set("hub_lang", "en")
    english = await expert.post(f"/staff/cases/{CASE}/actions/transfer",
                                data={"form_token": token, "agency": "interior", "reason": "موضوع در صلاحیت وزارت کشور است"})
    assert "The case was already transferred 2 times." in english.text
    services.step_answer = Answer(422, {"error": {"code": "invalid_request", "message_fa": "درخواست نامعتبر است",
                                                  "message_en": "invalid", "fields": [{"field": "approve.legal_grounds", "problem": "x"}]}})
    manager, manager_token = await signed_in(registry, "manager")
    approval = await manager.post(f"/staff/cases/{CASE}/actions/approval", data={
        "form_token": manager_token, "answer_fa": "پاسخ نهایی", "outcome": "upheld", "legal_grounds": "ماده ۱۲"})
    assert approval.status_code == 422 and "مستند قانونی را بنویسید" in approval.text and ">پاسخ نهایی</textarea>" in approval.text


async def test_a_step_the_role_may_not_take_or_a_forged_form_sends_nothing(registry, services) -> None:
    responder, token = await signed_in(registry, "responder")
    opinion = await responder.post(f"/staff/cases/{CASE}/actions/opinion", data={"form_token": token, "text": "x", "proposed_outcome": "upheld"})
    assert opinion.status_code == 403 and "«نظر کارشناسی» در نقش شما تعریف نشده است." in opinion.text
    assert (await responder.post(f"/staff/cases/{CASE}/actions/no-such-step", data={"form_token": token})).status_code == 404
    forged = await responder.post(f"/staff/cases/{CASE}/actions/response", data={"text": "پاسخ"})
    assert forged.status_code == 403 and services.sent == []


async def test_a_units_document_is_kept_by_intake_or_named_by_its_fingerprint_when_the_role_keeps_no_files(registry, services) -> None:
    expert, token = await signed_in(registry, "expert")
    files = {"documents": ("پاسخ.pdf", PDF, "application/pdf")}
    answered = await expert.post(f"/staff/cases/{CASE}/actions/response", files=files,
                                 data={"form_token": token, "text": "پاسخ واحد", "attachments": [FILE_ID]})
    assert answered.status_code == 303
    upload, step = services.sent
    assert upload[2] == f"/api/v1/cases/{CASE}/attachments" and upload[3]["filename"] == "پاسخ.pdf"
    assert step[3] == {"text": "پاسخ واحد", "attachments": [FILE_ID, "9c1d7e0a-1b22-4f0e-9a3c-5d0c0b5e3a52"]}
    services.sent.clear()
    services.upload_status = 403
    responder, responder_token = await signed_in(registry, "responder")
    answered = await responder.post(f"/staff/cases/{CASE}/actions/response", files=files, data={"form_token": responder_token, "text": "پاسخ"})
    assert answered.status_code == 303
    assert services.sent[-1][3] == {"text": "پاسخ", "attachments": ["sha256:" + hashlib.sha256(PDF).hexdigest()]}
    not_a_document = await responder.post(f"/staff/cases/{CASE}/actions/response", files={"documents": ("x.exe", b"MZ\x90", "application/pdf")},
                                          data={"form_token": responder_token, "text": "پاسخ با فایل نادرست"})
    assert not_a_document.status_code == 422 and "فقط PDF، JPEG، PNG یا TIFF" in not_a_document.text
    assert ">پاسخ با فایل نادرست</textarea>" in not_a_document.text


async def test_a_user_outside_the_cases_units_gets_the_services_refusal_for_a_step_and_a_document(registry, services, monkeypatch) -> None:
    registry.add(User(subject="fars", role=Role.provincial_supervisor, unit="labour/fars", password_hash=hash_password(PASSWORD)))
    outside = Answer(403, {"error": {"code": "forbidden", "message_fa": "این پرونده خارج از واحدهای تحت مسئولیت شماست.",
                                     "message_en": "Case 1405-00000042 is handled outside labour/fars."}})
    shown = services.as_staff

    async def refusing(upstream, client, path, token, route, params=None):
        return outside if verify(AuthSettings(), token).subject == "fars" else await shown(upstream, client, path, token, route, params)

    services.as_staff = refusing
    fars, token = await signed_in(registry, "fars")
    step = await fars.post(f"/staff/cases/{CASE}/actions/rework", data={"form_token": token, "reason": "دوباره بررسی شود"})
    assert step.status_code == 403 and "این پرونده خارج از واحدهای تحت مسئولیت شماست." in step.text and services.sent == []

    class File:
        def __init__(self, status: int, content: bytes, headers: dict) -> None:
            self.status_code, self.content, self.headers = status, content, headers

        def json(self):
            return outside.body

    async def file_as_staff(self, path, token, route):
        if verify(AuthSettings(), token).subject == "fars":
            return File(403, b"", {})
        return File(200, PDF, {"content-type": "application/pdf", "content-disposition": "attachment; filename*=UTF-8''x.pdf"})

    monkeypatch.setattr(Upstream, "file_as_staff", file_as_staff)
    refused = await fars.get(f"/staff/cases/{CASE}/attachments/{FILE_ID}")
    assert refused.status_code == 403 and "خارج از واحدهای تحت مسئولیت شماست" in refused.text
    expert, _ = await signed_in(registry, "expert")
    download = await expert.get(f"/staff/cases/{CASE}/attachments/{FILE_ID}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-disposition"].startswith("attachment") and download.headers["content-type"] == "application/pdf"
