"""Staff sign-in at the identity provider that already issues the deployment's single sign-on tokens: OpenID
Connect, authorization code flow with PKCE (S256), the state and the nonce checked.

The provider is the one HUB_AUTH_SSO_ISSUER names (its endpoints from its discovery document) and its ID token is
checked with the same JWKS, algorithms and issuer as its bearer tokens, and mapped to the hub's subject, role, unit
and scopes by the same claims (`hub_shared.auth.verify_id_token`): one mapping for both.

Between leaving for the provider and coming back, the browser holds the attempt (state, nonce, PKCE verifier) in a
signed cookie of ten minutes' life, path /staff/oidc, SameSite=Lax (the provider's redirect back is a top-level
navigation from another site, which a Strict cookie would not follow). The portal keeps nothing: any replica
finishes what another began."""

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlencode, urlparse

import httpx
from starlette.concurrency import run_in_threadpool

from hub_shared.access import STAFF
from hub_shared.auth import NotAuthenticated, Principal, verify_id_token
from hub_shared.tokens import AuthSettings
from hub_web.settings import WebSettings

COOKIE = "hub_oidc"
ATTEMPT_SECONDS = 600
DISCOVERY_SECONDS = 3600


class ProviderUnavailable(Exception):
    """The provider's discovery document or token endpoint did not answer usably."""


class SignInRefused(Exception):
    """The provider's answer does not sign anyone in; `reason` says why, in English, for the log and the page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Attempt:
    state: str
    nonce: str
    verifier: str
    started: int


class OidcClient:
    def __init__(self, settings: WebSettings, auth: AuthSettings, key: str, clock=time.time) -> None:
        self.settings, self.auth, self._clock = settings, auth, clock
        self._key = hmac.new(key.encode(), b"oidc-attempt-key", hashlib.sha256).digest()
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(settings.upstream_timeout_seconds))
        self._endpoints: tuple[float, dict[str, str]] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.settings.oidc_client_id and self.auth.jwks_url and self.auth.sso_issuer)

    async def close(self) -> None:
        await self._http.aclose()

    def begin(self) -> Attempt:
        return Attempt(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64), int(self._clock()))

    async def authorization_url(self, attempt: Attempt, redirect_uri: str) -> str:
        endpoint = (await self.endpoints())["authorization_endpoint"]
        query = {"response_type": "code", "client_id": self.settings.oidc_client_id, "redirect_uri": redirect_uri,
                 "scope": self.settings.oidc_scope, "state": attempt.state, "nonce": attempt.nonce,
                 "code_challenge": challenge(attempt.verifier), "code_challenge_method": "S256"}
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    async def finish(self, attempt: Attempt, state: str, code: str, redirect_uri: str) -> Principal:
        """The staff member the provider signed in, once the state matches, the code is exchanged with the PKCE
        verifier and the ID token is genuine, for this client, and carries this attempt's nonce."""
        if not hmac.compare_digest(state.encode(), attempt.state.encode()):
            raise SignInRefused("The state does not match this browser's sign-in attempt.")
        id_token = await self._exchange(code, attempt.verifier, redirect_uri)
        try:
            principal, claims = await run_in_threadpool(verify_id_token, self.auth, id_token, self.settings.oidc_client_id)
        except NotAuthenticated as refusal:
            raise SignInRefused(refusal.detail["message_en"].replace("The token", "The ID token")) from None
        if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), attempt.nonce.encode()):
            raise SignInRefused("The ID token's nonce is not this sign-in attempt's.")
        if principal.role not in STAFF:
            raise SignInRefused(f"Role {principal.role.value} is for systems, not people; the staff pages are not for it.")
        if not principal.scopes:
            raise SignInRefused("The ID token grants none of the hub's scopes.")
        return principal

    async def _exchange(self, code: str, verifier: str, redirect_uri: str) -> str:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier,
                "client_id": self.settings.oidc_client_id}
        secret = self.settings.oidc_client_secret
        auth = (self.settings.oidc_client_id, secret.get_secret_value()) if secret else None
        try:
            answer = await self._http.post((await self.endpoints())["token_endpoint"], data=form, auth=auth,
                                           headers={"Accept": "application/json"})
        except httpx.HTTPError as error:
            raise ProviderUnavailable(f"token endpoint: {type(error).__name__}") from None
        if answer.status_code >= 500:
            raise ProviderUnavailable(f"token endpoint answered {answer.status_code}")
        body = _json(answer)
        if answer.status_code != 200 or not isinstance(body.get("id_token"), str):
            raise SignInRefused(f"The provider did not exchange the code ({answer.status_code} {str(body.get('error', ''))[:64]}).")
        return body["id_token"]

    async def endpoints(self) -> dict[str, str]:
        """The provider's authorization and token endpoints, from its discovery document (kept an hour)."""
        if self._endpoints and self._clock() - self._endpoints[0] < DISCOVERY_SECONDS:
            return self._endpoints[1]
        issuer = self.auth.sso_issuer or ""
        try:
            answer = await self._http.get(issuer.rstrip("/") + "/.well-known/openid-configuration")
        except httpx.HTTPError as error:
            raise ProviderUnavailable(f"discovery: {type(error).__name__}") from None
        document = _json(answer)
        if answer.status_code != 200 or document.get("issuer") != issuer:
            raise ProviderUnavailable(f"discovery answered {answer.status_code} for another issuer or none")
        endpoints = {name: document.get(name) for name in ("authorization_endpoint", "token_endpoint")}
        if not all(isinstance(url, str) and _safe(url) for url in endpoints.values()):
            raise ProviderUnavailable("discovery names endpoints that are not https://")
        if "S256" not in document.get("code_challenge_methods_supported", ["S256"]):
            raise ProviderUnavailable("the provider does not support PKCE with S256")
        self._endpoints = (self._clock(), endpoints)
        return endpoints

    def seal(self, attempt: Attempt) -> str:
        body = _b64(json.dumps([attempt.state, attempt.nonce, attempt.verifier, attempt.started]).encode())
        return f"{body}.{self._sign(body)}"

    def open(self, value: str | None) -> Attempt | None:
        """The attempt a genuine cookie of the last ten minutes holds, else None."""
        body, _, signature = (value or "").partition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            state, nonce, verifier, started = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (ValueError, TypeError):
            return None
        if not isinstance(started, int) or not 0 <= self._clock() - started <= ATTEMPT_SECONDS:
            return None
        return Attempt(str(state), str(nonce), str(verifier), started)

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


def challenge(verifier: str) -> str:
    """RFC 7636's S256: base64url(SHA-256(verifier)), unpadded."""
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _safe(url: str) -> bool:
    """https, or http to this machine only (a local proxy, or a test's provider)."""
    parts = urlparse(url)
    if not parts.hostname:
        return False
    try:
        local = parts.hostname == "localhost" or ip_address(parts.hostname).is_loopback
    except ValueError:
        local = False
    return parts.scheme == "https" or parts.scheme == "http" and local


def _json(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
