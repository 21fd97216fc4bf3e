"""Reporting's own settings (`HUB_REPORTING_*`)."""

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub_shared.ratelimit import trusted_networks


class ReportingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_REPORTING_", env_file=".env", extra="ignore")

    min_group: int = Field(5, ge=1, description="Satisfaction groups with fewer ratings are hidden, so no single rating shows")
    min_cases: int = Field(10, ge=1, description="Default minimum cases before a unit is ranked")
    trace_url_template: str = Field("http://localhost:16686/trace/{trace_id}", description="Link to a trace in the trace viewer")
    open_data_threshold: int = Field(5, ge=2, description=(
        "Open data hides every count below this (and any count that would reveal one through a total)"))
    trusted_proxies: str = Field("", description="Comma-separated addresses or networks (the citizen's portal) whose "
                                                 "X-Forwarded-For names the citizen for open data's per-address limit; empty: none")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        trusted_networks(value)  # a ValueError names the bad entry
        return value
