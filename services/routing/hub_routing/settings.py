from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RoutingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_ROUTING_", env_file=".env", extra="ignore")

    answer_working_days: int = Field(30, ge=1, le=365, description="Legal answer time (Administrative Health Law, clause C)")
    thursday_off: bool = Field(True, description="Whether Thursday is a day off for the agency's offices")
