"""Single sign-on: tokens from a ministry's identity provider (RS256/ES256, keys at a JWKS URL) beside the
hub's own HS256 tokens, through a real FastAPI endpoint and through a service."""

import asyncio
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import Depends, FastAPI
from pydantic import SecretStr, ValidationError

from hub_shared import auth, jwks
from hub_shared.auth import AuthSettings, Principal, Role, Scope, mint, requires

ISSUER = "https://sso.labour.example/realms/staff"
AUDIENCE = "people-hub"
HUB_KEY = "a-test-signing-key-that-is-long-enough-0123"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(private_key, kid: str, alg: str) -> dict:
    algorithm = jwt.algorithms.RSAAlgorithm if alg.startswith("RS") else jwt.algorithms.ECAlgorithm
    return {**algorithm.to_jwk(private_key.public_key(), as_dict=True), "kid": kid, "alg": alg, "use": "sig"}


def key_set(*keys: dict) -> dict:
    return {"keys": list(keys) or [jwk(RSA_KEY, "rsa-1", "RS256"), jwk(EC_KEY, "ec-1", "ES256")]}


def sso_token(key=RSA_KEY, kid: str | None = "rsa-1", alg: str = "RS256", **overrides) -> str:
    now = datetime.now(UTC)
    claims = {"sub": "e-1042", "iss": ISSUER, "aud": [AUDIENCE, "account"], "iat": now, "exp": now + timedelta(minutes=5),
              "hub_role": "expert", "hub_unit": "labour/tehran", "scope": "openid profile cases:read timers:read", **overrides}
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid} if kid else None)


def settings_for(jwks_url: str | None, **overrides) -> AuthSettings:
    sso = {"jwks_url": jwks_url, "sso_issuer": ISSUER, "sso_audience": AUDIENCE, "sso_subject_claim": "sub"} if jwks_url else {}
    return AuthSettings(signing_key=SecretStr(HUB_KEY), **{**sso, **overrides})


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"  # a fresh URL per test, so each test has its own key cache
    path.write_text(json.dumps(key_set()))
    return path


@pytest.fixture
def settings(jwks_file: Path) -> AuthSettings:
    return settings_for(jwks_file.as_uri())


def app_for(settings: AuthSettings) -> FastAPI:
    app = FastAPI()

    @app.get("/cases")
    def cases(principal: Annotated[Principal, Depends(requires(settings, Scope.cases_read))]) -> dict:
        return {"subject": principal.subject, "role": principal.role.value, "unit": principal.unit,
                "scopes": sorted(scope.value for scope in principal.scopes)}

    @app.get("/ping")
    def ping() -> str:
        return "pong"

    return app


async def get(settings: AuthSettings, token: str, path: str = "/cases") -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_for(settings)), base_url="http://hub") as client:
        return await client.get(path, headers={"authorization": f"Bearer {token}"})


async def test_an_identity_provider_token_names_who_what_and_where(settings: AuthSettings) -> None:
    response = await get(settings, sso_token())
    assert response.status_code == 200, response.text
    assert response.json() == {"subject": "e-1042", "role": "expert", "unit": "labour/tehran", "scopes": ["cases:read", "timers:read"]}


async def test_es256_tokens_and_scopes_as_a_list_are_accepted(settings: AuthSettings) -> None:
    token = sso_token(EC_KEY, "ec-1", "ES256", hub_role="inspector", hub_unit="national", scope=["cases:read", "audit:read"])
    response = await get(settings, token)
    assert response.status_code == 200, response.text
    assert response.json()["scopes"] == ["audit:read", "cases:read"]


async def test_hub_tokens_still_work_beside_the_identity_provider(settings: AuthSettings) -> None:
    response = await get(settings, mint(settings, "maryam", Role.office_manager, "labour/isfahan"))
    assert response.status_code == 200 and response.json()["subject"] == "maryam"


async def test_claim_names_are_the_deployments_choice(jwks_file: Path) -> None:
    settings = settings_for(jwks_file.as_uri(), sso_subject_claim="preferred_username", sso_role_claim="role",
                            sso_unit_claim="org_unit", sso_scope_claim="hub_scopes")
    token = sso_token(preferred_username="e-7", role="unit_responder", org_unit="labour/tehran/performance-office",
                      hub_scopes="cases:read", hub_role=None, hub_unit=None)
    response = await get(settings, token)
    assert response.status_code == 200, response.text
    assert response.json() == {"subject": "e-7", "role": "unit_responder", "unit": "labour/tehran/performance-office",
                               "scopes": ["cases:read"]}


def hs256_with_public_key(kid: str | None) -> str:
    """Algorithm confusion: HS256 with the provider's public key (which anyone can read) as the HMAC secret."""
    public_pem = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
    claims = jwt.decode(sso_token(), options={"verify_signature": False})
    signing_input = b".".join(jwt.utils.base64url_encode(json.dumps(part).encode()) for part in (header, claims))
    signature = jwt.utils.base64url_encode(hmac.new(public_pem, signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + signature).decode()


def alg_none() -> str:
    header, payload, _ = sso_token().split(".")
    none_header = jwt.utils.base64url_encode(json.dumps({"alg": "none", "typ": "JWT", "kid": "rsa-1"}).encode()).decode()
    return f"{none_header}.{payload}."


def tampered() -> str:
    header, _, signature = sso_token().split(".")
    payload = jwt.utils.base64url_encode(json.dumps(
        {**jwt.decode(sso_token(), options={"verify_signature": False}), "hub_role": "national_supervisor"}).encode()).decode()
    return f"{header}.{payload}.{signature}"


REFUSED = {
    "another issuer": (lambda: sso_token(iss="https://sso.health.example/realms/staff"), "not valid"),
    "another audience": (lambda: sso_token(aud="another-client"), "another audience"),
    "expired": (lambda: sso_token(exp=datetime.now(UTC) - timedelta(minutes=5)), "expired"),
    "unknown kid": (lambda: sso_token(kid="retired-key"), "no key with its kid"),
    "no kid": (lambda: sso_token(kid=None), "names no key"),
    "someone else's signature": (lambda: sso_token(OTHER_RSA_KEY), "not valid"),
    "edited after signing": (tampered, "not valid"),
    "alg none": (alg_none, "algorithm is not accepted"),
    "HS256 with the public key, naming its kid": (lambda: hs256_with_public_key(kid="rsa-1"), "names no key"),
    "HS256 with the public key": (lambda: hs256_with_public_key(kid=None), "not valid"),
    "an algorithm not configured": (lambda: sso_token(alg="RS512"), "algorithm is not accepted"),
    "ES256 under an RSA kid": (lambda: sso_token(EC_KEY, kid="rsa-1", alg="ES256"), "not valid"),
    "scopes beyond the role": (lambda: sso_token(hub_role="unit_responder", scope="cases:read personal-data:read"),
                               "unit_responder cannot hold ['personal-data:read']"),
    "unknown role": (lambda: sso_token(hub_role="minister"), "claim hub_role is missing or is not a role"),
    "no role": (lambda: sso_token(hub_role=None), "claim hub_role is missing"),
    "no unit": (lambda: sso_token(hub_unit=None), "claim hub_unit is missing"),
    "a unit that is no unit id": (lambda: sso_token(hub_unit="Labour/../tehran"), "claim hub_unit is missing or is not a unit id"),
    "no scope claim": (lambda: sso_token(scope=None), "claim scope is missing"),
    "a scope that is no name": (lambda: sso_token(scope=["cases:read", 7]), "claim scope is missing"),
    "no subject": (lambda: sso_token(sub=None), "not valid"),
}


@pytest.mark.parametrize("token,reason", REFUSED.values(), ids=REFUSED.keys())
async def test_a_bad_identity_provider_token_is_refused_with_a_reason(settings: AuthSettings, token, reason: str) -> None:
    response = await get(settings, token())
    assert response.status_code == 401, response.text
    error = response.json()["detail"]
    assert error["code"] == "not_authenticated" and error["message_fa"] and reason in error["message_en"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_without_a_jwks_an_identity_provider_token_is_refused() -> None:
    response = await get(settings_for(None), sso_token())
    assert response.status_code == 401 and "HUB_AUTH_JWKS_URL" in response.json()["detail"]["message_en"]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_an_unreachable_jwks_is_a_401_that_says_so_and_a_warning_without_the_token(caplog) -> None:
    settings = settings_for(f"https://127.0.0.1:{closed_port()}/realms/staff/protocol/openid-connect/certs")
    token = sso_token()
    with caplog.at_level(logging.WARNING, logger="hub_shared.auth"):
        first, second = await get(settings, token), await get(settings, token)
    for response in (first, second):  # the second is refused at once: no fetch for KEYS_RETRY_SECONDS
        assert response.status_code == 401
        assert "identity provider's keys could not be fetched" in response.json()["detail"]["message_en"]
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings and all(token not in line and token.split(".")[2] not in line for line in warnings)
    assert "not fetched again" in warnings[-1]


@pytest.mark.parametrize("content", ["<html>Service Unavailable</html>", "[]", '{"keys": []}', '{"keys": [{"kty": "oct"}]}'])
async def test_a_jwks_without_usable_keys_is_a_provider_problem_not_the_tokens(settings: AuthSettings, jwks_file: Path,
                                                                              content: str) -> None:
    jwks_file.write_text(content)
    response = await get(settings, sso_token())
    assert response.status_code == 401 and "could not be fetched" in response.json()["detail"]["message_en"]


async def test_a_jwks_that_does_not_answer_costs_at_most_the_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings = settings_for(f"http://127.0.0.1:{silent.getsockname()[1]}/certs", jwks_timeout_seconds=0.5)
        started = time.monotonic()
        response = await get(settings, sso_token())
    assert response.status_code == 401 and time.monotonic() - started < 5
    assert "could not be fetched" in response.json()["detail"]["message_en"]


class KeyServer:
    """A JWKS endpoint on a thread: counts fetches; `held` keeps answers waiting until set."""

    def __init__(self) -> None:
        self.jwks, self.fetches, self.held = key_set(jwk(RSA_KEY, "rsa-1", "RS256")), 0, threading.Event()
        self.held.set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                server.held.wait(10)
                body = json.dumps(server.jwks).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}/certs/{uuid.uuid4()}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    server = KeyServer()
    yield server
    server.held.set()
    server.http.shutdown()
    server.http.server_close()


async def test_keys_are_cached_and_an_unknown_kid_refetches_at_most_once_per_cooldown(key_server: KeyServer) -> None:
    settings = settings_for(key_server.url)
    assert (await get(settings, sso_token())).status_code == 200
    assert (await get(settings, sso_token())).status_code == 200
    assert key_server.fetches == 1
    key_server.jwks = key_set(jwk(RSA_KEY, "rsa-1", "RS256"), jwk(EC_KEY, "ec-1", "ES256"))
    for _ in range(3):  # a flood of unknown kids right after a fetch costs nothing
        assert (await get(settings, sso_token(EC_KEY, "ec-1", "ES256"))).status_code == 401
    assert key_server.fetches == 1


async def test_a_key_the_provider_rotates_in_is_fetched_for_its_first_token(key_server: KeyServer, monkeypatch) -> None:
    monkeypatch.setattr(jwks, "KEYS_REFETCH_SECONDS", 0)
    settings = settings_for(key_server.url)
    assert (await get(settings, sso_token())).status_code == 200
    key_server.jwks = key_set(jwk(EC_KEY, "ec-2", "ES256"))
    assert (await get(settings, sso_token(EC_KEY, "ec-2", "ES256"))).status_code == 200
    assert key_server.fetches == 2
    assert (await get(settings, sso_token(kid="never-published"))).status_code == 401
    assert key_server.fetches == 3  # one refetch for the unknown kid, then the refusal


async def test_a_rotated_key_file_is_reread_for_an_unknown_kid(settings: AuthSettings, jwks_file: Path) -> None:
    assert (await get(settings, sso_token())).status_code == 200
    jwks_file.write_text(json.dumps(key_set(jwk(EC_KEY, "ec-2", "ES256"))))
    assert (await get(settings, sso_token(EC_KEY, "ec-2", "ES256"))).status_code == 200


async def test_cached_keys_serve_through_an_outage(key_server: KeyServer, monkeypatch) -> None:
    monkeypatch.setattr(jwks, "KEYS_REFETCH_SECONDS", 0)
    settings = settings_for(key_server.url, jwks_timeout_seconds=0.5)
    assert (await get(settings, sso_token())).status_code == 200
    key_server.http.shutdown()
    key_server.http.server_close()
    unknown = await get(settings, sso_token(kid="rotated-in-during-the-outage"))  # its fetch fails
    assert unknown.status_code == 401 and "could not be fetched" in unknown.json()["detail"]["message_en"]
    assert (await get(settings, sso_token())).status_code == 200


async def test_a_slow_jwks_does_not_hold_up_other_requests(key_server: KeyServer) -> None:
    settings = settings_for(key_server.url)
    key_server.held.clear()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_for(settings)), base_url="http://hub") as client:
        waiting = asyncio.create_task(client.get("/cases", headers={"authorization": f"Bearer {sso_token()}"}))
        while key_server.fetches == 0:
            await asyncio.sleep(0.01)
        assert (await client.get("/ping")).status_code == 200
        assert not waiting.done()
        key_server.held.set()
        assert (await waiting).status_code == 200


@pytest.mark.parametrize("overrides,setting", [
    ({"jwks_url": "https://sso.example/certs"}, "HUB_AUTH_SSO_ISSUER"),
    ({"jwks_url": "https://sso.example/certs", "sso_issuer": ISSUER}, "HUB_AUTH_SSO_AUDIENCE"),
    ({"jwks_url": "https://sso.example/certs", "sso_issuer": ISSUER, "sso_audience": AUDIENCE}, "HUB_AUTH_SSO_SUBJECT_CLAIM"),
    ({"jwks_url": "http://sso.example/certs", "sso_issuer": ISSUER, "sso_audience": AUDIENCE, "sso_subject_claim": "sub"}, "HUB_AUTH_JWKS_URL"),
    ({"jwks_url": "ftp://sso.example/certs", "sso_issuer": ISSUER, "sso_audience": AUDIENCE, "sso_subject_claim": "sub"}, "HUB_AUTH_JWKS_URL"),
    ({"sso_algorithms": "RS256,HS256"}, "HUB_AUTH_SSO_ALGORITHMS"),
    ({"sso_algorithms": "none"}, "HUB_AUTH_SSO_ALGORITHMS"),
])
def test_incomplete_or_unsafe_sso_settings_are_refused_at_start(overrides: dict, setting: str) -> None:
    with pytest.raises(ValidationError, match=setting):
        AuthSettings(**overrides)


def test_sso_settings_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("HUB_AUTH_JWKS_URL", "https://sso.labour.example/realms/staff/protocol/openid-connect/certs")
    monkeypatch.setenv("HUB_AUTH_SSO_ISSUER", ISSUER)
    monkeypatch.setenv("HUB_AUTH_SSO_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("HUB_AUTH_SSO_SUBJECT_CLAIM", "sub")
    monkeypatch.setenv("HUB_AUTH_SSO_ALGORITHMS", "RS256, PS256")
    assert AuthSettings().sso_algorithms == ("RS256", "PS256")
    monkeypatch.setenv("HUB_AUTH_JWKS_URL", "")
    assert AuthSettings().jwks_url is None


def test_production_still_needs_a_real_signing_key_with_sso(settings: AuthSettings) -> None:
    from hub_shared.settings import HubSettings

    sso_only = settings.model_copy(update={"signing_key": SecretStr(auth.DEVELOPMENT_KEY)})
    with pytest.raises(SystemExit, match="HUB_AUTH_SIGNING_KEY"):
        HubSettings(service_name="followup", environment="production").refuse_development_secrets(sso_only)


async def test_a_service_accepts_an_identity_provider_token(tmp_path: Path, jwks_file: Path, monkeypatch) -> None:
    from hub_followup.app import create_runtime
    from hub_shared.events import CaseRouted, RoutingDecision
    from hub_shared.testing import bearer, deliver, sqlite_runtime

    monkeypatch.setenv("HUB_AUTH_JWKS_URL", jwks_file.as_uri())
    monkeypatch.setenv("HUB_AUTH_SSO_ISSUER", ISSUER)
    monkeypatch.setenv("HUB_AUTH_SSO_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("HUB_AUTH_SSO_SUBJECT_CLAIM", "sub")
    runtime = sqlite_runtime(create_runtime, "followup", tmp_path)
    routed = CaseRouted(case_id=uuid.uuid4(), tracking_code="12345678903", unit_id="labour/tehran/performance-office",
                        unit_name="اداره", decision=RoutingDecision(rule="r", explanation="e"), working_days=30,
                        deadline_at=datetime(2027, 1, 9, 20, 29, 59, tzinfo=UTC), deadline_jalali="1405/10/19 23:59",
                        routed_at=datetime.now(UTC), about_employee="e-1042")
    await deliver(runtime, routed)
    path = f"/api/v1/cases/{routed.case_id}/timers"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app()), base_url="http://followup") as client:
        colleague = await client.get(path, headers={"authorization": f"Bearer {sso_token(sub='e-7')}"})
        about_them = await client.get(path, headers={"authorization": f"Bearer {sso_token(sub='e-1042')}"})
        elsewhere = await client.get(path, headers={"authorization": f"Bearer {sso_token(sub='e-8', hub_unit='labour/isfahan')}"})
        expired = await client.get(path, headers={"authorization": f"Bearer {sso_token(exp=datetime.now(UTC) - timedelta(hours=1))}"})
        local = await client.get(path, headers=bearer(Role.expert, "labour/tehran"))
    assert colleague.status_code == 200 and [t["step"] for t in colleague.json()][-1] == "answer_deadline"
    assert about_them.status_code == 403 and "about you" in about_them.json()["error"]["message_en"]
    assert elsewhere.status_code == 403 and "outside labour/isfahan" in elsewhere.json()["error"]["message_en"]
    assert expired.status_code == 401 and expired.json()["error"]["code"] == "not_authenticated"
    assert local.status_code == 200


def test_an_id_token_for_the_portal_maps_to_the_same_principal_as_a_bearer_token_and_neither_passes_for_the_other(settings) -> None:
    id_token = sso_token(aud="hub-portal", nonce="n-1")
    principal, claims = auth.verify_id_token(settings, id_token, "hub-portal")
    assert principal == auth.verify(settings, sso_token()), "one mapping of the provider's claims"
    assert claims["nonce"] == "n-1"
    with pytest.raises(auth.NotAuthenticated, match="another audience"):
        auth.verify(settings, id_token)  # an ID token is not a bearer token for the services
    with pytest.raises(auth.NotAuthenticated, match="another audience"):
        auth.verify_id_token(settings, sso_token(), "hub-portal")
    with pytest.raises(auth.NotAuthenticated, match="not accepted"):
        auth.verify_id_token(settings, jwt.encode({"sub": "x", "aud": "hub-portal"}, HUB_KEY, algorithm="HS256"), "hub-portal")
    with pytest.raises(auth.NotAuthenticated, match="hub_role"):
        auth.verify_id_token(settings, sso_token(aud="hub-portal", hub_role="mayor"), "hub-portal")
