"""The portal's own settings (`HUB_WEB_*`); the port, host, environment and rate limits are `HubSettings`'."""

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# anyone can read this key in the source: it protects nothing outside development
DEVELOPMENT_ONLY_FORM_KEY = "development-only-form-key-not-secret"


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_WEB_", env_file=".env", extra="ignore", hide_input_in_errors=True)

    intake_url: str = Field("http://127.0.0.1:8001", description="Intake's HTTP API (cases, tracking, attachments, ratings)")
    routing_url: str = Field("http://127.0.0.1:8002", description="Routing's HTTP API (agencies, provinces, counties)")
    reporting_url: str = Field("http://127.0.0.1:8004", description="Reporting's HTTP API (the open data)")
    followup_url: str = Field("http://127.0.0.1:8003", description="Follow-up's HTTP API (the staff's inbox)")
    gateway_url: str = Field("http://127.0.0.1:8005", description="The SAMAD gateway's HTTP API (its ops endpoints, for the ops console)")
    users_file: Path | None = Field(None, description=(
        "The users registry (`hub user add NAME --password`) whose staff sign in to /staff; empty: users.json in HUB_DATA_DIR"))
    staff_idle_minutes: int = Field(30, ge=1, le=480, description="A staff session ends after this long without a page")
    staff_session_hours: int = Field(10, ge=1, le=24, description="A staff session ends this long after sign-in, busy or not")
    dashboard_refresh_seconds: float = Field(2, ge=0.2, le=60, description=(
        "How often an open dashboard asks reporting for its figures again (sent to the browser when they change)"))
    upstream_timeout_seconds: float = Field(10, gt=0, le=120, description="Longest wait for another service's answer")
    form_key: SecretStr = Field(SecretStr(DEVELOPMENT_ONLY_FORM_KEY), min_length=16,
                                description="Key that signs the forms' anti-forgery tokens; set a long random value in production")
    secure_cookies: bool = Field(False, description="Send cookies only over HTTPS (set behind TLS)")
    oidc_client_id: str | None = Field(None, description=(
        "The portal's client id at the identity provider (HUB_AUTH_SSO_ISSUER, HUB_AUTH_JWKS_URL): staff may then sign in "
        "there (OpenID Connect, authorization code with PKCE); empty: local accounts only"))
    oidc_client_secret: SecretStr | None = Field(None, description="The client's secret, for a confidential client; empty: a public client (PKCE alone)")
    oidc_redirect_url: str | None = Field(None, description=(
        "The callback URL registered at the identity provider; empty: /staff/oidc/callback on the address the browser used"))
    oidc_scope: str = Field("openid", pattern=r"^openid( [!-~]+)*$", description="Scopes asked of the identity provider (openid first)")
    max_upload_bytes: int = Field(45_000_000, ge=100_000, description="Largest form the portal reads (all attachments together)")

    @field_validator("oidc_client_id", "oidc_redirect_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def development_secrets(self) -> list[str]:
        return ["HUB_WEB_FORM_KEY"] if self.form_key.get_secret_value() == DEVELOPMENT_ONLY_FORM_KEY else []
