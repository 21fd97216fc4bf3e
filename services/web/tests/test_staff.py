"""Staff sign-in: Argon2 passwords, the per-account lockout, the signed session cookie and its idle and absolute
limits; the staff pages call the services with the user's own short-lived token and show their refusals."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hub_shared.auth import AuthSettings, Role, Scope, verify
from hub_shared.passwords import hash_password, password_matches
from hub_shared.settings import HubSettings
from hub_shared.users import User, UserRegistry
from hub_web.app import create_app
from hub_web.settings import WebSettings
from hub_web.staff_auth import COOKIE, Lockout, SessionCookie, StaffDesk
from hub_web.upstream import Answer, Upstream

PASSWORD = "a long enough secret"
CASE = "6f1c1c1e-5b0a-4d55-9a53-1f8e3c1f0a11"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def registry(tmp_path: Path) -> UserRegistry:
    users = UserRegistry(tmp_path / "users.json")
    users.add(User(subject="maryam", role=Role.expert, unit="labour/tehran", password_hash=hash_password(PASSWORD)))
    users.add(User(subject="centre-feed", role=Role.presidential_centre, unit="national"))  # a machine: no password
    return users


def desk(registry: UserRegistry, clock=None) -> StaffDesk:
    return StaffDesk(registry.path, SessionCookie("k" * 32, idle_minutes=30, session_hours=10, clock=clock or Clock()), AuthSettings())


def test_passwords_are_argon2id_hashes_checked_in_full() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert password_matches(stored, PASSWORD)
    assert not password_matches(stored, PASSWORD.upper()) and not password_matches(None, PASSWORD)
    assert not password_matches("not a hash", PASSWORD)
    with pytest.raises(ValueError):
        hash_password("short")


def test_five_failures_in_fifteen_minutes_lock_the_name_known_or_not_until_the_first_is_old() -> None:
    clock = Clock()
    lockout = Lockout(clock=clock)
    for name in ("maryam", "nobody-has-this-name"):
        for _ in range(4):
            lockout.failed(name)
            clock.now += 60
        assert not lockout.locked(name)
        lockout.failed(name)
        assert lockout.locked(name)
    clock.now += 11 * 60  # the first failure of the second name is 15 minutes old now
    assert not lockout.locked("nobody-has-this-name")
    lockout.failed("x")
    lockout.succeeded("x")
    assert not lockout.locked("x")


def test_sign_in_is_refused_the_same_way_for_an_unknown_name_a_machine_and_a_wrong_password(registry) -> None:
    staff = desk(registry)
    assert {staff.sign_in(name, password) for name, password in
            (("maryam", "wrong password!"), ("nobody", PASSWORD), ("centre-feed", PASSWORD))} == {"wrong"}
    for _ in range(4):
        staff.sign_in("maryam", "wrong password!")
    assert staff.sign_in("maryam", PASSWORD) == "locked", "locked even with the right password"
    assert desk(registry).sign_in("maryam", PASSWORD).subject == "maryam"


def test_the_session_ends_after_the_idle_timeout_or_the_longest_session_and_cannot_be_forged(registry) -> None:
    clock = Clock()
    staff = desk(registry, clock)
    value = staff.cookie.seal(staff.sign_in("maryam", PASSWORD))
    assert PASSWORD not in value
    for _ in range(20):  # a page every 29 minutes keeps it, up to the longest session
        clock.now += 29 * 60
        user, session = staff.user_of(value)
        assert user.subject == "maryam"
        value = staff.cookie.seal(session)
    clock.now += 29 * 60
    assert staff.user_of(value) is None, "10 hours after signing in"
    value = staff.cookie.seal(staff.sign_in("maryam", PASSWORD))
    clock.now += 31 * 60
    assert staff.user_of(value) is None, "31 idle minutes"
    value = staff.cookie.seal(staff.sign_in("maryam", PASSWORD))
    body, _, signature = value.partition(".")
    other = SessionCookie("x" * 32, 30, 10, clock).seal(staff.cookie.new("maryam", "whatever"))
    assert staff.user_of(body + "." + signature[::-1]) is None and staff.user_of(other) is None and staff.user_of("") is None


def test_changing_the_password_or_removing_the_user_ends_their_sessions(registry) -> None:
    staff = desk(registry)
    value = staff.cookie.seal(staff.sign_in("maryam", PASSWORD))
    registry.remove("maryam")
    assert staff.user_of(value) is None
    registry.add(User(subject="maryam", role=Role.expert, unit="labour/tehran", password_hash=hash_password(PASSWORD + "!")))
    assert staff.user_of(value) is None


async def test_the_pages_call_the_services_with_the_users_own_token_and_show_their_refusal(registry, monkeypatch) -> None:
    calls: list[tuple[str, dict | None]] = []
    deadline = (datetime.now(UTC) - timedelta(days=1)).isoformat()

    async def as_staff(self, client, path, token, route, params=None):
        principal = verify(AuthSettings(), token)
        assert (principal.subject, principal.role, principal.unit) == ("maryam", Role.expert, "labour/tehran")
        assert Scope.cases_read in principal.scopes
        calls.append((path, params))
        if path == "/api/v1/inbox":
            return Answer(200, {"items": [{"case_id": CASE, "tracking_code": "12345678903", "unit_id": "labour/tehran/rey",
                                           "unit_name": "اداره ری", "agency": "labour", "kind": "complaint", "confidential": False,
                                           "deadline_at": deadline, "stage": "in_progress", "reopenings": 0,
                                           "updated_at": deadline}], "total": 1, "overdue": 1, "limit": 50, "offset": 0})
        if path == f"/api/v1/cases/{CASE}/complainant":
            assert params == {"purpose": "calling back about the documents"}
            return Answer(200, {"full_name": "زهرا احمدی", "national_id": "0084575948", "phone": "09121234567", "address": "تهران"})
        if path == f"/api/v1/cases/{CASE}":
            return Answer(200, {"case_id": CASE, "case_number": "1405-00000042", "tracking_code": "12345678903", "kind": "complaint",
                                "channel": "web", "complainant_type": "natural", "organisation_name": None, "subject": "موضوع",
                                "description": "شرح", "confidential": False, "status": "referred", "unit_id": "labour/tehran/rey",
                                "unit_name": "اداره ری", "deadline_at": deadline, "registered_at": deadline, "answer_outcome": None,
                                "answer_fa": None, "legal_grounds": None, "answered_at": None, "objections": [], "history": []})
        return Answer(403, {"error": {"code": "forbidden", "message_fa": "این پرونده خارج از واحدهای تحت مسئولیت شماست.",
                                      "message_en": "Case 1405-1 is handled outside labour/tehran."}})

    monkeypatch.setattr(Upstream, "as_staff", as_staff)
    app = create_app(HubSettings(service_name="web"), WebSettings(users_file=registry.path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal") as client:
        assert (await client.get("/staff")).headers["location"] == "/staff/sign-in"
        form = await client.get("/staff/sign-in")
        token = re.search(r'name="form_token" value="([^"]+)"', form.text)[1]
        assert (await client.post("/staff/sign-in", data={"username": "maryam", "password": PASSWORD})).status_code == 403
        wrong = await client.post("/staff/sign-in", data={"form_token": token, "username": "maryam", "password": "wrong password!"})
        assert wrong.status_code == 401 and "نام کاربری یا گذرواژه درست نیست" in wrong.text
        signed = await client.post("/staff/sign-in", data={"form_token": token, "username": "maryam", "password": PASSWORD})
        assert signed.status_code == 303 and signed.headers["location"] == "/staff"
        cookie = signed.headers["set-cookie"]
        assert f"{COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/staff" in cookie

        inbox = await client.get("/staff", params={"code": "۱۲۳۴۵۶۷۸۹۰۳", "kind": "complaint", "stage": "nonsense"})
        assert inbox.status_code == 200, inbox.text
        assert [call for call in calls if call[0] == "/api/v1/inbox"][-1] == (
            "/api/v1/inbox", {"tracking_code": "12345678903", "kind": "complaint", "limit": "50", "offset": "0"})
        assert f'href="/staff/cases/{CASE}"' in inbox.text and "۱۲۳۴۵۶۷۸۹۰۳" in inbox.text and "مهلت گذشته است" in inbox.text
        assert '<dd id="overdue">۱</dd>' in inbox.text

        shown = await client.get(f"/staff/cases/{CASE}")
        assert shown.status_code == 200 and "۱۴۰۵-۰۰۰۰۰۰۴۲" in shown.text and "مهلت گذشته است" in shown.text
        assert "زهرا احمدی" not in shown.text
        vague = await client.post(f"/staff/cases/{CASE}/complainant", data={"form_token": token, "purpose": "why"})
        assert vague.status_code == 422 and "۱۰ تا ۵۰۰ حرف" in vague.text
        person = await client.post(f"/staff/cases/{CASE}/complainant",
                                   data={"form_token": token, "purpose": " calling back  about the documents "})
        assert person.status_code == 200 and "زهرا احمدی" in person.text and "۰۰۸۴۵۷۵۹۴۸" in person.text
        refused = await client.get("/staff/cases/00000000-0000-4000-8000-000000000000")
        assert refused.status_code == 403 and "این پرونده خارج از واحدهای تحت مسئولیت شماست." in refused.text
        out = await client.post("/staff/sign-out", data={"form_token": token})
        assert out.status_code == 200 and "از سامانه خارج شدید" in out.text
        client.cookies.delete(COOKIE)
        assert (await client.get("/staff")).status_code == 303
