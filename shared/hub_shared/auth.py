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
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from ipaddress import ip_address
from typing import Annotated, Any
from urllib.parse import urlparse

import jwt
from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy import or_, true

from hub_shared.events.org import SEGMENT
from hub_shared.jwks import KeysUnavailable, key_set

AUDIENCE = "people-hub"
ISSUER = "people-hub"
ALGORITHM = "HS256"
NATIONAL = "national"
DEVELOPMENT_KEY = "development-only-signing-key-never-use-in-production!"
ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
SSO_LEEWAY_SECONDS = 30  # the identity provider's clock and ours may differ a little
UNIT_PATTERN = rf"^(?:{NATIONAL}|{SEGMENT}(?:/{SEGMENT})*)$"
_NAMES_A_KEY = frozenset({"kid", "jku", "jwk", "x5u", "x5c"})  # headers no HS256 token of ours carries

log = logging.getLogger(__name__)


class Role(str, Enum):
    expert = "expert"
    unit_responder = "unit_responder"
    office_manager = "office_manager"
    inspector = "inspector"
    provincial_supervisor = "provincial_supervisor"
    national_supervisor = "national_supervisor"
    agency_system = "agency_system"
    presidential_centre = "presidential_centre"
    gateway = "gateway"


STAFF = frozenset({Role.expert, Role.unit_responder, Role.office_manager, Role.inspector,
                   Role.provincial_supervisor, Role.national_supervisor})


class Scope(str, Enum):
    cases_read = "cases:read"  # a case's details, without the complainant's personal data
    cases_confidential = "cases:confidential"  # clearance for cases classed confidential
    cases_submit = "cases:submit"  # file a case on a citizen's behalf (phone 111, letters, agency systems)
    personal_data_read = "personal-data:read"  # the complainant's name, ID, phone, address; every read is audited
    timers_read = "timers:read"
    audit_read = "audit:read"
    status_read = "status:read"  # status by tracking code and the change feed (supervising bodies)
    org_write = "org:write"  # change the organisation tree (units, their places, contacts and calendars) in one's subtree


_CASE_WORK = {Scope.cases_read, Scope.timers_read}
_SUPERVISION = {*_CASE_WORK, Scope.cases_confidential, Scope.status_read, Scope.audit_read}
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.expert: frozenset({*_CASE_WORK, Scope.cases_submit, Scope.personal_data_read}),
    Role.unit_responder: frozenset(_CASE_WORK),
    Role.office_manager: frozenset({*_CASE_WORK, Scope.cases_submit, Scope.personal_data_read, Scope.cases_confidential}),
    Role.inspector: frozenset({*_CASE_WORK, Scope.personal_data_read, Scope.cases_confidential, Scope.audit_read}),
    Role.provincial_supervisor: frozenset(_SUPERVISION),
    Role.national_supervisor: frozenset(_SUPERVISION),
    Role.agency_system: frozenset({Scope.cases_submit, Scope.status_read}),
    Role.presidential_centre: frozenset({Scope.status_read}),
    Role.gateway: frozenset({Scope.cases_submit, Scope.status_read}),
}
# Who keeps the organisation tree up to date, each within the subtree their token covers.
ROLE_SCOPES[Role.national_supervisor] |= {Scope.org_write}
ROLE_SCOPES[Role.provincial_supervisor] |= {Scope.org_write}
ROLE_SCOPES[Role.agency_system] |= {Scope.org_write}


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_AUTH_", env_file=".env", extra="ignore")

    signing_key: SecretStr = Field(SecretStr(DEVELOPMENT_KEY), min_length=32,
                                   description="HMAC key that signs bearer tokens; set a long random value in production")
    token_minutes: int = Field(60, ge=1, le=24 * 60, description="Lifetime of a minted token")
    jwks_url: str | None = Field(None, description=(
        "The identity provider's JWKS: https://..., or file:///... for air-gapped installs; empty: hub tokens only"))
    sso_issuer: str | None = Field(None, description="`iss` of the identity provider's tokens (required with jwks_url)")
    sso_audience: str | None = Field(None, description="`aud` the identity provider's tokens must name (required with jwks_url)")
    sso_algorithms: Annotated[tuple[str, ...], NoDecode] = Field(("RS256", "ES256"), description=(
        "Comma-separated asymmetric algorithms accepted from the identity provider"))
    sso_subject_claim: str | None = Field(None, min_length=1, description=(
        "Claim holding the staff id (personnel code) of the person, or the client's name; required with jwks_url, "
        "because a case about an employee is hidden from the token whose subject is that employee's code"))
    sso_role_claim: str = Field("hub_role", min_length=1, description="Claim holding the role")
    sso_unit_claim: str = Field("hub_unit", min_length=1, description="Claim holding the unit id")
    sso_scope_claim: str = Field("scope", min_length=1, description="Claim holding the scopes: space-separated or a list")
    jwks_timeout_seconds: float = Field(5, gt=0, le=30, description="Longest wait for the JWKS")
    jwks_cache_seconds: int = Field(300, ge=10, le=24 * 3600, description="How long fetched keys are used before a refetch")

    @field_validator("jwks_url", "sso_issuer", "sso_audience", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("jwks_url")
    @classmethod
    def _fetchable(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlparse(url)
        if parts.scheme == "file" and parts.path:
            return url
        if parts.scheme == "https" and parts.hostname:
            return url
        if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):  # a local proxy or test server
            return url
        raise ValueError("HUB_AUTH_JWKS_URL must be an https:// URL (http:// only to this machine) or a file:/// path")

    @field_validator("sso_algorithms", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return tuple(name.strip() for name in value.split(",") if name.strip()) if isinstance(value, str) else value

    @field_validator("sso_algorithms")
    @classmethod
    def _asymmetric(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        if not names or not set(names) <= ASYMMETRIC:
            raise ValueError(f"HUB_AUTH_SSO_ALGORITHMS must name some of {', '.join(sorted(ASYMMETRIC))}")
        return names

    @model_validator(mode="after")
    def _sso_complete(self) -> "AuthSettings":
        if self.jwks_url and not (self.sso_issuer and self.sso_audience):
            raise ValueError("HUB_AUTH_JWKS_URL needs HUB_AUTH_SSO_ISSUER and HUB_AUTH_SSO_AUDIENCE, "
                             "or any token the identity provider issues to anyone would be accepted")
        if self.jwks_url and not self.sso_subject_claim:
            raise ValueError("HUB_AUTH_JWKS_URL needs HUB_AUTH_SSO_SUBJECT_CLAIM: the claim holding the staff id "
                             "(personnel code) the hub knows employees by, e.g. preferred_username; a provider's `sub` is "
                             "often a random id, and then a complaint about an employee would not be hidden from them")
        return self

    def development_secrets(self) -> list[str]:
        """The secret settings still at their published development values."""
        return ["HUB_AUTH_SIGNING_KEY"] if self.signing_key.get_secret_value() == DEVELOPMENT_KEY else []


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    unit: str
    scopes: frozenset[Scope] = frozenset()

    def covers(self, unit_id: str) -> bool:
        """Whether `unit_id` is this principal's unit or below it in the tree."""
        return self.unit == NATIONAL or unit_id == self.unit or unit_id.startswith(self.unit + "/")


class TokenClaims(BaseModel):
    sub: str = Field(min_length=1, max_length=128)
    role: Role
    unit: str = Field(min_length=1, max_length=200, pattern=UNIT_PATTERN)
    scope: str = Field(max_length=1000, description="granted scopes, space-separated as in OAuth 2.0")

    @property
    def scopes(self) -> frozenset[Scope]:
        return frozenset(Scope(name) for name in self.scope.split())

    @model_validator(mode="after")
    def _within_role(self) -> "TokenClaims":
        beyond = self.scopes - ROLE_SCOPES[self.role]
        if beyond:
            raise ValueError(f"role {self.role.value} cannot hold {sorted(s.value for s in beyond)}")
        return self


def mint(settings: AuthSettings, subject: str, role: Role, unit: str, now: datetime | None = None,
         minutes: int | None = None, scopes: Iterable[Scope] | None = None) -> str:
    """A signed token. `scopes` (at most the role's) defaults to all of the role's scopes."""
    scopes = ROLE_SCOPES[role] if scopes is None else scopes
    issued = now or datetime.now(UTC)
    scope = " ".join(sorted(Scope(s).value for s in scopes))
    claims = TokenClaims(sub=subject, role=role, unit=unit, scope=scope).model_dump(mode="json")
    claims.update(aud=AUDIENCE, iss=ISSUER, iat=issued, exp=issued + timedelta(minutes=minutes or settings.token_minutes))
    return jwt.encode(claims, settings.signing_key.get_secret_value(), algorithm=ALGORITHM)


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
    if not isinstance(kid, str) or not 0 < len(kid) <= 256:
        raise NotAuthenticated("The token is not valid: it names no key (kid) of the identity provider.")
    key = _signing_key(settings, kid)
    with _refusals():
        claims = jwt.decode(token, key, algorithms=list(settings.sso_algorithms), audience=settings.sso_audience,
                            issuer=settings.sso_issuer, leeway=SSO_LEEWAY_SECONDS,
                            options={"require": ["exp", "aud", "iss", settings.sso_subject_claim]})
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

    def dependency(request: Request) -> Principal | None:
        return authenticated(request) if "authorization" in request.headers else None

    return dependency


def requires(settings: AuthSettings, scope: Scope):
    """A FastAPI dependency: 401 without a valid token, 403 when the token does not grant `scope`."""
    authenticated = principal_of(settings)

    def dependency(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
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
