from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RoutingSettings(BaseSettings):
    """Routing's own settings; the working week and holidays are shared (`HubSettings.thursday_off`, `holidays_file`)."""

    model_config = SettingsConfigDict(env_prefix="HUB_ROUTING_", env_file=".env", extra="ignore")

    answer_working_days: int = Field(30, ge=1, le=365, description="Legal answer time (Administrative Health Law, clause C)")
    rules_dir: Path | None = Field(None, description="Folder of routing rule files (*.yaml); empty uses the shipped rules")
    rules_reload_seconds: float = Field(2.0, gt=0, le=3600, description="How often rule files are checked for changes")
    max_transfers: int = Field(2, ge=0, le=10, description="How many times a case may be transferred to another agency")
