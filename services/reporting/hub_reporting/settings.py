"""Reporting's own settings (`HUB_REPORTING_*`)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ReportingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_REPORTING_", env_file=".env", extra="ignore")

    min_group: int = Field(5, ge=1, description="Satisfaction groups with fewer ratings are hidden, so no single rating shows")
    min_cases: int = Field(10, ge=1, description="Default minimum cases before a unit is ranked")
    trace_url_template: str = Field("http://localhost:16686/trace/{trace_id}", description="Link to a trace in the trace viewer")
