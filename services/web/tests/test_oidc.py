"""Staff sign-in at the identity provider (OpenID Connect, authorization code with PKCE S256), against a small
provider the test runs on a local port: the state, the nonce and the verifier are checked, the ID token is mapped
to the hub's role, unit and scopes as the services map the provider's bearer tokens, and every way the answer can
be wrong signs no one in."""

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from hub_shared.auth import AuthSettings, Role, Scope, verify
from hub_shared.settings import HubSettings
from hub_web.app import create_app
from hub_web.oidc import COOKIE as ATTEMPT_COOKIE, challenge
from hub_web.settings import WebSettings
from hub_web.staff_auth import COOKIE
from hub_web.upstream import Answer, Upstream
from tests.oidc_provider import CLIENT_ID, IdentityProvider, running_provider

EXPERT = {"preferred_username": "e-2001", "hub_role": "expert", "hub_unit": "labour/tehran",
          "scope": "openid profile cases:read timers:read"}
NO_HUB_SCOPES = {**EXPERT, "preferred_username": "e-2002", "scope": "openid profile"}
A_SYSTEM = {**EXPERT, "preferred_username": "samad", "hub_role": "gateway", "scope": "status:read"}


@pytest.fixture
def provider(monkeypatch) -> Iterator[IdentityProvider]:
    with running_provider({"e-2001": EXPERT, "e-2002": NO_HUB_SCOPES, "samad": A_SYSTEM}) as idp:
        for name, value in idp.settings_env().items():
            monkeypatch.setenv(name, value)
        yield idp


@pytest.fixture
def tokens(monkeypatch) -> list[str]:
    """The bearer tokens the portal calls follow-up with (its inbox answers empty)."""
    seen: list[str] = []

    async def as_staff(self, client, path, token, route, params=None):
        seen.append(token)
        return Answer(200, {"items": [], "total": 0, "overdue": 0, "limit": 50, "offset": 0})

    monkeypatch.setattr(Upstream, "as_staff", as_staff)
    return seen


def portal(tmp_path, **settings) -> httpx.AsyncClient:
    app = create_app(HubSettings(service_name="web"), WebSettings(users_file=tmp_path / "users.json", **settings))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")


async def leave_for_provider(client: httpx.AsyncClient) -> dict[str, str]:
    sign_in = await client.get("/staff/sign-in")
    assert 'href="/staff/oidc/start"' in sign_in.text and "ورود با حساب سازمانی" in sign_in.text
    start = await client.get("/staff/oidc/start")
    assert start.status_code == 303
    cookie = start.headers["set-cookie"]
    assert f"{ATTEMPT_COOKIE}=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/staff/oidc" in cookie
    return {key: values[0] for key, values in parse_qs(urlparse(start.headers["location"]).query).items()}


def pick(provider: IdentityProvider, asked: dict[str, str], person: str) -> str:
    """What the person does at the provider: pick who they are; the path and query the provider sends them back to."""
    back = httpx.post(f"{provider.issuer}/authorize", data={**asked, "person": person})
    assert back.status_code == 303, back.text
    location = urlparse(back.headers["location"])
    assert f"{location.scheme}://{location.netloc}" == "http://portal"
    return f"{location.path}?{location.query}"


async def test_an_expert_signs_in_at_the_provider_and_gets_the_role_unit_and_scopes_it_gave(provider, tokens, tmp_path) -> None:
    async with portal(tmp_path, oidc_client_id=CLIENT_ID) as client:
        asked = await leave_for_provider(client)
        assert (asked["response_type"], asked["client_id"], asked["code_challenge_method"]) == ("code", CLIENT_ID, "S256")
        assert asked["redirect_uri"] == "http://portal/staff/oidc/callback" and asked["scope"] == "openid profile"
        assert len(asked["state"]) >= 32 and len(asked["nonce"]) >= 32 and asked["state"] != asked["nonce"]
        back = await client.get(pick(provider, asked, "e-2001"))
        assert back.status_code == 200, back.text
        assert '<meta http-equiv="refresh" content="0; url=/staff">' in back.text and 'href="/staff"' in back.text
        cookie = back.headers.get_list("set-cookie")
        assert any(c.startswith(f"{COOKIE}=") and "HttpOnly" in c and "SameSite=strict" in c for c in cookie)
        assert any(c.startswith(f"{ATTEMPT_COOKIE}=") and "Max-Age=0" in c for c in cookie), "the attempt is spent"
        verifier_sent = provider.token_requests[-1]["code_verifier"]
        assert challenge(verifier_sent) == asked["code_challenge"] and 43 <= len(verifier_sent) <= 128
        cartable = await client.get("/staff")
        assert cartable.status_code == 200 and "e-2001" in cartable.text
        principal = verify(AuthSettings(), tokens[-1])
        assert (principal.subject, principal.role, principal.unit) == ("e-2001", Role.expert, "labour/tehran")
        assert principal.scopes == {Scope.cases_read, Scope.timers_read}, "the provider's scopes, no more"
        password = await client.get("/staff/account/password")
        assert "در همان سامانه تغییر دهید" in password.text and 'name="new_password"' not in password.text
        token = re.search(r'name="form_token" value="([^"]+)"', cartable.text)[1]
        await client.post("/staff/sign-out", data={"form_token": token})
        client.cookies.delete(COOKIE, path="/staff")
        assert (await client.get("/staff")).headers["location"] == "/staff/sign-in"


@pytest.mark.parametrize("person,tamper,reason", [
    ("e-2001", {"nonce": "a nonce of another attempt"}, "nonce"),
    ("e-2001", {"aud": "another-client"}, "audience"),
    ("e-2001", {"iss": "https://another.provider.example"}, "issuer"),
    ("e-2001", {"hub_unit": "no/such/unit/Here"}, "hub_unit"),
    ("e-2002", {}, "scopes"),
    ("samad", {}, "systems"),
])
async def test_an_id_token_that_is_not_for_this_attempt_or_this_hub_signs_no_one_in(provider, tokens, tmp_path, caplog,
                                                                                      person, tamper, reason) -> None:
    provider.id_token_overrides = tamper
    async with portal(tmp_path, oidc_client_id=CLIENT_ID) as client:
        back = await client.get(pick(provider, await leave_for_provider(client), person))
        assert back.status_code == 401 and "با مدیر سامانه تماس بگیرید" in back.text
        assert not any(c.startswith(f"{COOKIE}=") for c in back.headers.get_list("set-cookie"))
        assert (await client.get("/staff")).headers["location"] == "/staff/sign-in"
    assert reason in caplog.text and "eyJ" not in caplog.text, "the reason is logged, never the token"


async def test_a_wrong_state_a_missing_attempt_a_reused_code_or_a_refusal_at_the_provider_sign_no_one_in(provider, tokens, tmp_path) -> None:
    async with portal(tmp_path, oidc_client_id=CLIENT_ID) as client:
        back = pick(provider, await leave_for_provider(client), "e-2001")
        forged = re.sub(r"state=[^&]+", "state=forged", back)
        assert (await client.get(forged)).status_code == 401
        assert (await client.get(back)).status_code == 400, "the attempt was spent by the forged answer"
        asked = await leave_for_provider(client)
        back = pick(provider, asked, "e-2001")
        client.cookies.delete(ATTEMPT_COOKIE, path="/staff/oidc")
        expired = await client.get(back)
        assert expired.status_code == 400 and "دوباره «ورود با حساب سازمانی» را بزنید" in expired.text
        asked = await leave_for_provider(client)
        attempt = client.cookies.get(ATTEMPT_COOKIE)
        back = pick(provider, asked, "e-2001")
        assert (await client.get(back)).status_code == 200
    async with portal(tmp_path, oidc_client_id=CLIENT_ID) as replica:  # another process: the attempt is in the cookie only
        replayed = await replica.get(back, headers={"Cookie": f"{ATTEMPT_COOKIE}={attempt}"})
        assert replayed.status_code == 401, "a code serves once"
    async with portal(tmp_path, oidc_client_id=CLIENT_ID) as client:
        denied = await client.get("/staff/oidc/callback", params={"error": "access_denied", "state": "x"})
        assert denied.status_code == 401 and "ورود در سامانه هویت سازمانی انجام نشد" in denied.text


async def test_without_a_client_id_there_is_no_provider_sign_in(provider, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("HUB_WEB_OIDC_CLIENT_ID")  # the provider's tokens still serve the services; the portal does not use it
    async with portal(tmp_path) as client:
        assert "/staff/oidc/start" not in (await client.get("/staff/sign-in")).text
        assert (await client.get("/staff/oidc/start")).status_code == 404


async def test_an_unreachable_provider_is_a_clear_503(tmp_path, monkeypatch) -> None:
    with running_provider({}) as gone:
        env = gone.settings_env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    async with portal(tmp_path, oidc_client_id=CLIENT_ID) as client:
        answer = await client.get("/staff/oidc/start")
        assert answer.status_code == 503 and "سامانه هویت سازمانی اکنون پاسخ نمی‌دهد" in answer.text
