"""Who is calling: signed, expiring bearer tokens for staff and machine clients, and what they may do.

A token names a subject, a role, the organisation unit whose subtree it covers and the scopes (endpoint
groups) it grants. Unit ids are paths (`labour/tehran/rey/performance-office`), so "in my subtree" is a
path-prefix test; `national` covers every unit. A role bounds the scopes a token may carry; a token gets
all of its role's scopes unless it names fewer. Tokens are minted by `hub token create` with the
deployment's signing key (HS256).

A ministry's own identity provider (single sign-on, e.g. Keycloak) may issue tokens too: signed with
RS256 or ES256 by keys it publishes as a JWKS, carrying the role, unit and scopes in claims the
deployment names. The header's `alg` chooses the path, and each path has exactly one source of keys:
HS256 only the signing key, the asymmetric algorithms only the JWKS. Both end in the same `Principal`,
bounded by the same rules.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlalchemy import or_, true

from hub_shared.access import NATIONAL, ROLE_SCOPES, STAFF, UNIT_PATTERN, Role, Scope  # noqa: F401 (re-exported)
from hub_shared.jwks import KeysUnavailable, key_set
from hub_shared.tokens import (ALGORITHM, ASYMMETRIC, AUDIENCE, DEVELOPMENT_KEY, ISSUER, AuthSettings,  # noqa: F401 (re-exported)
                               TokenClaims, mint)

SSO_LEEWAY_SECONDS = 30  # the identity provider's clock and ours may differ a little
_NAMES_A_KEY = frozenset({"kid", "jku", "jwk", "x5u", "x5c"})  # headers no HS256 token of ours carries

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    unit: str
    scopes: frozenset[Scope] = frozenset()

    def covers(self, unit_id: str) -> bool:
        """Whether `unit_id` is this principal's unit or below it in the tree."""
        return self.unit == NATIONAL or unit_id == self.unit or unit_id.startswith(self.unit + "/")


class NotAuthenticated(HTTPException):
    def __init__(self, reason_en: str) -> None:
        super().__init__(status_code=401, headers={"WWW-Authenticate": 'Bearer realm="people-hub"'}, detail={
            "code": "not_authenticated", "message_fa": "ورود معتبر لازم است؛ توکن دسترسی را بررسی کنید.", "message_en": reason_en})


class Forbidden(HTTPException):
    def __init__(self, reason_en: str, reason_fa: str = "شما به این مورد دسترسی ندارید.") -> None:
        super().__init__(status_code=403, detail={"code": "forbidden", "message_fa": reason_fa, "message_en": reason_en})


INVALID = "The token is not valid (bad signature, issuer or claims)."


def verify(settings: AuthSettings, token: str) -> Principal:
    """The principal a token names, or NotAuthenticated. HS256 tokens are checked with the signing key only,
    asymmetric ones (single sign-on) with the identity provider's JWKS only; `none` and others are refused."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise NotAuthenticated(INVALID) from None
    algorithm = header.get("alg")
    if not isinstance(algorithm, str):
        raise NotAuthenticated(INVALID)
    if algorithm == ALGORITHM:
        if _NAMES_A_KEY & header.keys():  # e.g. the provider's public key tried as an HMAC secret
            raise NotAuthenticated("The token is not valid: an HS256 token names no key (kid); "
                                   "hub tokens come from `hub token create`.")
        return _verify_hub_token(settings, token)
    if algorithm in ASYMMETRIC and not settings.jwks_url:
        raise NotAuthenticated(f"The token is not valid here: {algorithm} tokens come from an identity provider and "
                               "this deployment has none (HUB_AUTH_JWKS_URL); use a token from `hub token create`.")
    if algorithm in settings.sso_algorithms:
        return _verify_sso_token(settings, token, header.get("kid"))
    raise NotAuthenticated(f"The token is not valid: its signing algorithm is not accepted "
                           f"({', '.join((ALGORITHM, *settings.sso_algorithms))}).")


def _verify_hub_token(settings: AuthSettings, token: str) -> Principal:
    with _refusals():
        claims = jwt.decode(token, settings.signing_key.get_secret_value(), algorithms=[ALGORITHM], audience=AUDIENCE,
                            issuer=ISSUER, options={"require": ["exp", "iat", "aud", "iss", "sub"]})
        return _principal({key: claims.get(key) for key in ("sub", "role", "unit", "scope")})


def _verify_sso_token(settings: AuthSettings, token: str, kid: Any) -> Principal:
    return _sso_principal(settings, _sso_claims(settings, token, kid, settings.sso_audience))


def verify_id_token(settings: AuthSettings, token: str, client_id: str) -> tuple[Principal, dict[str, Any]]:
    """An OpenID Connect ID token from the identity provider (the portal's staff sign-in): checked as its bearer
    tokens are (its JWKS, issuer and algorithms only) but for the audience `client_id`, and mapped to the same
    Principal by the same claims. Also its claims, for the caller's nonce check. Fetching keys may wait: call
    it from a worker thread."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise NotAuthenticated(INVALID) from None
    if not settings.jwks_url or header.get("alg") not in settings.sso_algorithms:
        raise NotAuthenticated("The ID token is not valid: its signing algorithm is not accepted "
                               f"({', '.join(settings.sso_algorithms)}) or no identity provider is configured.")
    claims = _sso_claims(settings, token, header.get("kid"), client_id)
    return _sso_principal(settings, claims), claims


def _sso_claims(settings: AuthSettings, token: str, kid: Any, audience: str | None) -> dict[str, Any]:
    if not isinstance(kid, str) or not 0 < len(kid) <= 256:
        raise NotAuthenticated("The token is not valid: it names no key (kid) of the identity provider.")
    key = _signing_key(settings, kid)
    with _refusals():
        return jwt.decode(token, key, algorithms=list(settings.sso_algorithms), audience=audience,
                          issuer=settings.sso_issuer, leeway=SSO_LEEWAY_SECONDS,
                          options={"require": ["exp", "aud", "iss", settings.sso_subject_claim]})


def _sso_principal(settings: AuthSettings, claims: dict[str, Any]) -> Principal:
    """The one mapping from the identity provider's claims to the hub's subject, role, unit and scopes."""
    names = {"sub": settings.sso_subject_claim, "role": settings.sso_role_claim, "unit": settings.sso_unit_claim,
             "scope": settings.sso_scope_claim}
    ours = {field: claims.get(claim) for field, claim in names.items()}
    try:
        return _principal({**ours, "scope": _hub_scopes(ours["scope"])})
    except ValidationError as error:
        first = error.errors()[0]
        field = first["loc"][0] if first["loc"] else None
        if field in names:
            raise NotAuthenticated(f"The token is not valid: its claim {names[field]} is missing or is not "
                                   f"{_CLAIM_HOLDS[field]}.") from None
        raise NotAuthenticated(f"The token is not valid: {first.get('ctx', {}).get('error', first['msg'])}.") from None


_CLAIM_HOLDS = {"sub": "a name (up to 128 characters)", "role": f"a role ({', '.join(role.value for role in Role)})",
                "unit": "a unit id (national, labour, labour/tehran, ...)",
                "scope": "a list of scopes (space-separated, or a JSON list)"}


@contextmanager
def _refusals() -> Iterator[None]:
    """Turns every way a token fails into the 401 that says why."""
    try:
        yield
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("The token has expired; get a new one.") from None
    except jwt.InvalidAudienceError:
        raise NotAuthenticated("The token is for another audience.") from None
    except (jwt.PyJWTError, ValueError):
        raise NotAuthenticated(INVALID) from None


def _principal(claims: dict[str, Any]) -> Principal:
    parsed = TokenClaims.model_validate(claims)
    return Principal(subject=parsed.sub, role=parsed.role, unit=parsed.unit, scopes=parsed.scopes)


def _hub_scopes(claim: Any) -> str | None:
    """The hub's scopes in a scope claim (space-separated or a list); the provider's own (`openid`, `profile`,
    ...) are not ours and are left out. Scopes beyond the role are kept, so the role check refuses them."""
    names = claim.split() if isinstance(claim, str) else claim if isinstance(claim, list) else None
    if names is None or not all(isinstance(name, str) for name in names):
        return None
    ours = {scope.value for scope in Scope}
    return " ".join(name for name in names if name in ours)


def _signing_key(settings: AuthSettings, kid: str) -> jwt.PyJWK:
    """The JWKS key the token's kid names. Runs in FastAPI's worker threads (the dependencies below are plain
    functions), so a fetch waits at most HUB_AUTH_JWKS_TIMEOUT_SECONDS there, never on the event loop."""
    keys = key_set(settings.jwks_url, settings.jwks_timeout_seconds, settings.jwks_cache_seconds)
    try:
        return keys.key_for(kid)
    except KeysUnavailable as error:
        log.warning("the identity provider's keys could not be fetched from %s: %s", settings.jwks_url, error)
        raise NotAuthenticated("The identity provider's keys could not be fetched, so its tokens cannot be checked now; "
                               "try again in a minute, and tell the operator if it persists.") from None
    except jwt.PyJWKClientError:
        raise NotAuthenticated("The token is not valid: the identity provider has no key with its kid.") from None




def principal_of(settings: AuthSettings):
    """A FastAPI dependency that answers 401 unless the request carries a valid bearer token. A plain function
    on purpose: FastAPI runs it in a worker thread, where fetching the identity provider's keys may wait."""

    def dependency(request: Request) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated("An 'Authorization: Bearer <token>' header is required.")
        return verify(settings, token.strip())

    return dependency


def optional_principal(settings: AuthSettings):
    """A FastAPI dependency for endpoints open to all that do more for a token holder: None without an
    Authorization header, 401 for a header with an invalid token."""
    authenticated = principal_of(settings)

    async def dependency(request: Request) -> Principal | None:
        # a coroutine, so the citizen without a token costs no hop to a worker thread; a token is checked there
        return await run_in_threadpool(authenticated, request) if "authorization" in request.headers else None

    return dependency


def requires(settings: AuthSettings, scope: Scope):
    """A FastAPI dependency: 401 without a valid token, 403 when the token does not grant `scope`."""
    authenticated = principal_of(settings)

    async def dependency(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if scope not in principal.scopes:
            raise Forbidden(f"This token ({principal.role.value}) does not grant {scope.value}.",
                            f"این دسترسی ({scope.value}) برای نقش شما تعریف نشده است.")
        return principal

    return dependency


AUTH_RESPONSES: dict[int | str, dict] = {
    401: {"description": "No valid bearer token"},
    403: {"description": "The token lacks the scope, or the case is outside the caller's units; the body says which"},
}


def check_case_access(principal: Principal, case: str, unit_id: str, confidential: bool = False,
                      about_employee: str | None = None) -> None:
    """Raise Forbidden unless `principal` may see a case held by `unit_id`: it is in their subtree, they are
    cleared for it if it is confidential, and it is not a complaint about them."""
    if not principal.covers(unit_id):
        raise Forbidden(f"Case {case} is handled outside {principal.unit}.", "این پرونده خارج از واحدهای تحت مسئولیت شماست.")
    if about_employee is not None and about_employee == principal.subject:
        raise Forbidden(f"Case {case} is about you; it is handled without you.", "این پرونده درباره شماست و به شما نمایش داده نمی‌شود.")
    if confidential and Scope.cases_confidential not in principal.scopes:
        raise Forbidden(f"Case {case} is confidential and role {principal.role.value} is not cleared for it.",
                        "این پرونده محرمانه است و نقش شما مجوز دیدن آن را ندارد.")


def in_subtree(column: Any, principal: Principal) -> Any:
    """A SQL condition: the unit id in `column` is the principal's unit or below it (anything, for national)."""
    if principal.unit == NATIONAL:
        return true()
    return or_(column == principal.unit, column.startswith(principal.unit + "/", autoescape=True))
