"""The gateway's settings: where each remote lives, the secret it shares with the hub, the mapping
tables, and how hard outbound delivery tries. Read from `HUB_GATEWAY_*` environment variables."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_TOKEN = "development-only-remote-token-never-use-in-production"
REMOTES = ("samad", "inspection_org")


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_GATEWAY_", env_file=".env", extra="ignore")

    samad_url: str = Field("", description="Base URL of SAMAD's case API; empty: SAMAD is not connected")
    samad_token: SecretStr = Field(SecretStr(DEVELOPMENT_TOKEN), min_length=16,
                                   description="Secret shared with SAMAD, sent and expected as 'Authorization: Bearer'")
    inspection_org_url: str = Field("", description="Base URL of the inspection organization's case API; empty: not connected")
    inspection_org_token: SecretStr = Field(SecretStr(DEVELOPMENT_TOKEN), min_length=16,
                                            description="Secret shared with the inspection organization")
    mappings_file: Path | None = Field(None, description="YAML mapping tables (kinds, units, statuses); empty: the shipped mappings.yaml")
    poll_seconds: float = Field(30, gt=0, description="How often each remote is asked for new cases")
    delivery_poll_seconds: float = Field(30, gt=0, le=300, description=(
        "The outbound queue's safety poll: delivery sleeps until the next update is due, or until this process queues one"))
    timeout_seconds: float = Field(10, gt=0, description="Longest wait for one call to a remote")
    retry_attempts: int = Field(3, ge=1, le=10, description="Calls per delivery round before the row waits for a later round")
    retry_initial_seconds: float = Field(0.2, gt=0)
    retry_max_seconds: float = Field(60, gt=0, description="Cap of the back-off between rounds of one queued update")
    breaker_failures: int = Field(5, ge=1, description="Consecutive failures that open a remote's circuit")
    breaker_cooldown_seconds: float = Field(30, gt=0, description="How long an open circuit waits before one trial call")

    def url(self, remote: str) -> str:
        return getattr(self, f"{remote}_url").rstrip("/")

    def token(self, remote: str) -> str:
        return getattr(self, f"{remote}_token").get_secret_value()

    def connected(self) -> list[str]:
        return [remote for remote in REMOTES if self.url(remote)]

    def development_secrets(self) -> list[str]:
        return [f"HUB_GATEWAY_{remote.upper()}_TOKEN" for remote in self.connected() if self.token(remote) == DEVELOPMENT_TOKEN]
