"""The ops console: it asks every service's ops endpoints with the operator's own token, shows their answers (health,
lag, dead letters, holds, parked rows, a case's trace) and sends the operator's choices to the service each item
belongs to; a user whose token the services refuse sees the services' reason, and the menu offers the console
only to a role that holds `ops:admin`."""

import re

import httpx
import pytest

from hub_shared.auth import AuthSettings, Role, Scope, verify
from hub_shared.passwords import hash_password
from hub_shared.settings import HubSettings
from hub_shared.users import User, UserRegistry
from hub_web.app import create_app
from hub_web.settings import WebSettings
from hub_web.upstream import Answer, Unavailable, Upstream

PASSWORD = "a long enough secret"
CASE = "6f1c1c1e-5b0a-4d55-9a53-1f8e3c1f0a11"
SERVICES = ("intake", "routing", "followup", "reporting", "samad-gateway")


def service_of(upstream: Upstream, client) -> str:
    return dict(zip((id(c) for c in (upstream.intake, upstream.routing, upstream.followup, upstream.reporting, upstream.gateway)),
                    SERVICES, strict=True))[id(client)]


def state(name: str) -> dict:
    return {"service": name, "checks": {"database": "ok", "bus": "ok", "outbox_relay": "ok"}, "outbox_pending": 0,
            "outbox_parked": 1 if name == "intake" else 0, "held_cases": 0, "errors_last_hour": 2 if name == "routing" else 0,
            "groups": [{"group": name, "topic": "hub.cases.v1", "lag": 7 if name == "routing" else 0}] if name != "intake" else []}


LETTER = {"id": "1:5", "written_at": "2026-12-06T10:00:00+00:00", "consumer_group": "routing", "origin": "hub.cases.v1/0@7",
          "event_type": "ir.hub.case.registered.v1", "subject": CASE, "attempts": 3, "held_behind": None, "body_omitted": False,
          "reason": "KeyError: 'unit'", "headers": [["ce_type", "ir.hub.case.registered.v1"], ["hub_dlq_error", "KeyError: 'unit'"]]}


@pytest.fixture
def registry(tmp_path) -> UserRegistry:
    users = UserRegistry(tmp_path / "users.json")
    users.add(User(subject="ops-ali", role=Role.ops, unit="national", password_hash=hash_password(PASSWORD)))
    users.add(User(subject="maryam", role=Role.expert, unit="labour/tehran", password_hash=hash_password(PASSWORD)))
    return users


@pytest.fixture
def services(monkeypatch):
    """The five services' ops endpoints as an ops token sees them; any other token is refused as they refuse it."""
    posted: list[tuple[str, str, dict]] = []
    silent = {"followup"}

    async def as_staff(self, client, path, token, route, params=None):
        name = service_of(self, client)
        principal = verify(AuthSettings(), token)
        if Scope.ops_admin not in principal.scopes and path.startswith("/api/v1/ops"):
            return Answer(403, {"error": {"code": "forbidden", "message_fa": "این دسترسی (ops:admin) برای نقش شما تعریف نشده است.",
                                          "message_en": f"This token ({principal.role.value}) does not grant ops:admin."}})
        if name in silent:
            raise Unavailable(path)
        if path == "/api/v1/ops/state":
            return Answer(200, state(name))
        if path == "/api/v1/ops/dead-letters":
            return Answer(200, {"letters": [LETTER] if name == "routing" else []})
        if path == "/api/v1/ops/holds":
            return Answer(200, {"items": [{"group": "reporting", "key": CASE, "first_event_id": "e-9", "held_since": "2026-12-06T09:00:00+00:00",
                                           "reason": "KeyError: 'unit'"}] if name == "reporting" else []})
        if path == "/api/v1/ops/outbox/parked":
            return Answer(200, {"items": [{"id": 42, "topic": "hub.cases.v1", "key": CASE, "event_type": "ir.hub.case.routed.v1",
                                           "parked_at": "2026-12-06T08:00:00+00:00", "error": "MessageSizeTooLargeError"}] if name == "intake" else []})
        if path == "/api/v1/cases/12345678903/timeline":
            assert name == "reporting"
            return Answer(200, {"case_id": CASE, "tracking_code": "12345678903", "status": "referred", "events": [
                {"event_id": "a", "event_type": "ir.hub.case.registered.v1", "service": "intake", "status": "registered",
                 "at_utc": "2026-12-06T08:00:00+00:00", "at_jalali": "1405/09/15 11:30", "note_fa": "ثبت شد", "note_en": "Registered",
                 "trace_id": "ab" * 16, "trace_url": None},
                {"event_id": "b", "event_type": "ir.hub.case.routed.v1", "service": "routing", "status": "referred",
                 "at_utc": "2026-12-06T08:00:01+00:00", "at_jalali": "1405/09/15 11:30", "note_fa": "ارجاع شد", "note_en": "Referred",
                 "trace_id": "ab" * 16, "trace_url": None}]})
        return Answer(404, {"error": {"code": "unknown_case", "message_fa": "پرونده‌ای یافت نشد.", "message_en": "No case."}})

    async def send_as_staff(self, client, method, path, token, route, body):
        assert method == "POST" and Scope.ops_admin in verify(AuthSettings(), token).scopes
        posted.append((service_of(self, client), path, body))
        return Answer(200, {"done": body.get("ids") and [str(i) for i in body["ids"]] or body.get("keys")})

    monkeypatch.setattr(Upstream, "as_staff", as_staff)
    monkeypatch.setattr(Upstream, "send_as_staff", send_as_staff)
    return posted


async def signed_in(client: httpx.AsyncClient, name: str) -> str:
    form = await client.get("/staff/sign-in")
    token = re.search(r'name="form_token" value="([^"]+)"', form.text)[1]
    assert (await client.post("/staff/sign-in", data={"form_token": token, "username": name, "password": PASSWORD})).status_code == 303
    return token


def portal(registry: UserRegistry) -> httpx.AsyncClient:
    app = create_app(HubSettings(service_name="web"), WebSettings(users_file=registry.path))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")


async def test_an_operator_sees_each_services_health_lag_and_errors_and_which_did_not_answer(registry, services) -> None:
    async with portal(registry) as client:
        await signed_in(client, "ops-ali")
        landing = await client.get("/staff")
        assert landing.status_code == 303 and landing.headers["location"] == "/staff/ops", "an operator's desk is the console"
        overview = await client.get("/staff/ops")
        assert overview.status_code == 200
        html = overview.text
        assert '<dd id="broker">در دسترس</dd>' in html
        routing = re.search(r'<tr id="service-routing">(.*?)</tr>', html, re.S)[1]
        assert routing.count("سالم") == 3 and routing.rstrip().endswith("<td>۲</td>"), "two errors in the last hour"
        assert re.search(r'<bdi dir="ltr">routing</bdi></th><td><bdi dir="ltr">hub.cases.v1</bdi></td><td><bdi dir="ltr">routing</bdi></td><td>۷</td>', html)
        assert '<a href="/staff/ops/outbox">۱</a>' in html, "intake's parked row links to the list"
        assert re.search(r'id="silent">[^<]*<bdi dir="ltr">followup</bdi>', html)
        assert 'href="/staff/ops"' in html and "کنسول عملیات" in html


async def test_an_operator_replays_a_chosen_letter_at_the_service_it_failed_in(registry, services) -> None:
    async with portal(registry) as client:
        token = await signed_in(client, "ops-ali")
        listed = await client.get("/staff/ops/dead-letters")
        assert listed.status_code == 200 and "KeyError: &#39;unit&#39;" in listed.text and CASE in listed.text
        assert 'value="routing|1:5"' in listed.text
        forged = await client.post("/staff/ops/dead-letters/replay", data={"letter": "routing|1:5"})
        assert forged.status_code == 403 and services == []
        nothing = await client.post("/staff/ops/dead-letters/replay", data={"form_token": token})
        assert "موردی انتخاب نشده بود" in nothing.text and services == []
        done = await client.post("/staff/ops/dead-letters/replay", data={"form_token": token, "letter": ["routing|1:5", "nowhere|2:2"]})
        assert done.status_code == 200
        assert services == [("routing", "/api/v1/ops/dead-letters/replay", {"ids": ["1:5"]})]
        assert re.search(r'id="outcome">.*routing</bdi>: دوباره فرستاده شد: <bdi dir="ltr" class="code">1:5</bdi>', done.text, re.S)
        every = await client.post("/staff/ops/dead-letters/replay", data={"form_token": token, "scope": "all", "letter": [],
                                                                           "shown": ["routing|1:5", "routing|2:9", "intake|0:3"]})
        assert every.status_code == 200
        assert sorted(services[1:]) == [("intake", "/api/v1/ops/dead-letters/replay", {"ids": ["0:3"]}),
                                        ("routing", "/api/v1/ops/dead-letters/replay", {"ids": ["1:5", "2:9"]})]


async def test_an_operator_releases_a_held_case_and_retries_a_parked_row(registry, services) -> None:
    async with portal(registry) as client:
        token = await signed_in(client, "ops-ali")
        assert f'value="reporting|reporting|{CASE}"' in (await client.get("/staff/ops/holds")).text
        await client.post("/staff/ops/holds/release", data={"form_token": token, "hold": f"reporting|reporting|{CASE}"})
        assert 'value="intake|42"' in (await client.get("/staff/ops/outbox")).text
        await client.post("/staff/ops/outbox/release", data={"form_token": token, "row": "intake|42"})
        assert services == [("reporting", "/api/v1/ops/holds/release", {"group": "reporting", "keys": [CASE]}),
                            ("intake", "/api/v1/ops/outbox/release", {"ids": [42]})]


async def test_a_trace_shows_every_step_with_its_trace_id_and_links_between_steps(registry, services) -> None:
    async with portal(registry) as client:
        await signed_in(client, "ops-ali")
        bad = await client.get("/staff/ops/trace", params={"code": "12ab"})
        assert bad.status_code == 422 and "کد رهگیری (۱۱ رقم)" in bad.text
        traced = await client.get("/staff/ops/trace", params={"code": "۱۲۳۴۵۶۷۸۹۰۳"})
        assert traced.status_code == 200
        assert traced.text.count("ab" * 16) == 2 and 'id="step-2"' in traced.text
        assert '<a href="#step-1">همان ردگیری گام ۱</a>' in traced.text and '<a href="#step-2">گام بعدی</a>' in traced.text
        unknown = await client.get("/staff/ops/trace", params={"code": "99999999999"})
        assert unknown.status_code == 404 and "پرونده‌ای یافت نشد." in unknown.text


async def test_a_user_without_the_ops_scope_gets_the_services_refusal_and_no_menu_entry(registry, services) -> None:
    async with portal(registry) as client:
        await signed_in(client, "maryam")
        refused = await client.get("/staff/ops")
        assert refused.status_code == 403 and "این دسترسی (ops:admin) برای نقش شما تعریف نشده است." in refused.text
        assert 'href="/staff/ops"' not in refused.text
        for path in ("/staff/ops/dead-letters", "/staff/ops/holds", "/staff/ops/outbox"):
            assert (await client.get(path)).status_code == 403
        client.cookies.clear()
        assert (await client.get("/staff/ops")).headers["location"] == "/staff/sign-in"
