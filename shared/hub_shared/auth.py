"""Who is calling: signed, expiring bearer tokens for staff and machine clients, and what they may see.

A token names a subject, a role and the organisation unit whose subtree it covers. Unit ids are paths
(`labour/tehran/rey/performance-office`), so "in my subtree" is a path-prefix test; `national` covers
every unit. Tokens are minted by `hub token create` with the deployment's signing key.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_AUTH_", env_file=".env", extra="ignore")

    signing_key: SecretStr = Field(SecretStr(DEVELOPMENT_KEY), min_length=32,
                                   description="HMAC key that signs bearer tokens; set a long random value in production")
    token_minutes: int = Field(60, ge=1, le=24 * 60, description="Lifetime of a minted token")


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    unit: str

    def covers(self, unit_id: str) -> bool:
        """Whether `unit_id` is this principal's unit or below it in the tree."""
        return self.unit == NATIONAL or unit_id == self.unit or unit_id.startswith(self.unit + "/")


class TokenClaims(BaseModel):
    sub: str = Field(min_length=1, max_length=128)
    role: Role
    unit: str = Field(min_length=1, max_length=200)


def mint(settings: AuthSettings, subject: str, role: Role, unit: str, now: datetime | None = None,
         minutes: int | None = None) -> str:
    issued = now or datetime.now(UTC)
    claims = TokenClaims(sub=subject, role=role, unit=unit).model_dump(mode="json")
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
        parsed = TokenClaims.model_validate({key: claims.get(key) for key in ("sub", "role", "unit")})
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("The token has expired; get a new one.") from None
    except jwt.InvalidAudienceError:
        raise NotAuthenticated("The token is for another audience.") from None
    except (jwt.InvalidTokenError, ValueError):
        raise NotAuthenticated("The token is not valid (bad signature, issuer or claims).") from None
    return Principal(subject=parsed.sub, role=parsed.role, unit=parsed.unit)


def principal_of(settings: AuthSettings):
    """A FastAPI dependency that answers 401 unless the request carries a valid bearer token."""

    def dependency(request: Request) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated("An 'Authorization: Bearer <token>' header is required.")
        return verify(settings, token.strip())

    return dependency


def staff_only(settings: AuthSettings):
    """A FastAPI dependency for staff endpoints: 401 without a token, 403 for machine clients."""
    authenticated = principal_of(settings)

    def dependency(principal: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if principal.role not in STAFF:
            raise Forbidden(f"Role {principal.role.value} cannot use staff endpoints.")
        return principal

    return dependency
