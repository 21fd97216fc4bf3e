"""Minting the hub's own bearer tokens (HS256, signed with the deployment's key) and the settings that
govern them. Verification and the web dependencies are in `hub_shared.auth`; this module needs only jwt
and pydantic, so `hub token create` and `hub trace` mint without loading the web stack or the database."""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from typing import Annotated, Any
from urllib.parse import urlparse

import jwt
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from hub_shared.access import ROLE_SCOPES, UNIT_PATTERN, Role, Scope

AUDIENCE = "people-hub"
ISSUER = "people-hub"
ALGORITHM = "HS256"
DEVELOPMENT_KEY = "development-only-signing-key-never-use-in-production!"
ASYMMETRIC = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})


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
