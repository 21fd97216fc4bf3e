"""Who is calling: signed, expiring bearer tokens for staff and machine clients, and what they may do.

A token names a subject, a role, the organisation unit whose subtree it covers and the scopes (endpoint
groups) it grants. Unit ids are paths (`labour/tehran/rey/performance-office`), so "in my subtree" is a
path-prefix test; `national` covers every unit. A role bounds the scopes a token may carry; a token gets
all of its role's scopes unless it names fewer. Tokens are minted by `hub token create` with the
deployment's signing key.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import or_, true

AUDIENCE = "people-hub"
ISSUER = "people-hub"
ALGORITHM = "HS256"
NATIONAL = "national"
DEVELOPMENT_KEY = "development-only-signing-key-never-use-in-production!"


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

    def development_secrets(self) -> list[str]:
        """The secret settings still at their published development values."""
        return ["HUB_AUTH_SIGNING_KEY"] if self.signing_key.get_secret_value() == DEVELOPMENT_KEY else []


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
    unit: str = Field(min_length=1, max_length=200)
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


def verify(settings: AuthSettings, token: str) -> Principal:
    try:
        claims = jwt.decode(token, settings.signing_key.get_secret_value(), algorithms=[ALGORITHM], audience=AUDIENCE,
                            issuer=ISSUER, options={"require": ["exp", "iat", "aud", "iss", "sub"]})
        parsed = TokenClaims.model_validate({key: claims.get(key) for key in ("sub", "role", "unit", "scope")})
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("The token has expired; get a new one.") from None
    except jwt.InvalidAudienceError:
        raise NotAuthenticated("The token is for another audience.") from None
    except (jwt.InvalidTokenError, ValueError):
        raise NotAuthenticated("The token is not valid (bad signature, issuer or claims).") from None
    return Principal(subject=parsed.sub, role=parsed.role, unit=parsed.unit, scopes=parsed.scopes)


def principal_of(settings: AuthSettings):
    """A FastAPI dependency that answers 401 unless the request carries a valid bearer token."""

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
