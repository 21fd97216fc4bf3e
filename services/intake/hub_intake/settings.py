from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_INTAKE_", env_file=".env", extra="ignore")

    pseudonym_key: SecretStr = Field(
        SecretStr("embedded-default-pseudonym-key"),
        description="Key of the citizen pseudonym on the bus; set a long random value in production",
    )
    follow_up_phone: str = Field("111", description="Phone number citizens call to follow a case up")
