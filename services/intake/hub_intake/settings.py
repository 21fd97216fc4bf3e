import ipaddress
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub_shared.vault import MIN_HASH_KEY_BYTES, PersonalDataVault, parse_data_keys

# base64 of b"development-only-key-not-secret!": anyone can read it, so it protects nothing
DEVELOPMENT_ONLY_DATA_KEYS = "dev-insecure:ZGV2ZWxvcG1lbnQtb25seS1rZXktbm90LXNlY3JldCE="
DEVELOPMENT_ONLY_PSEUDONYM_KEY = "embedded-default-pseudonym-key"


class IntakeSettings(BaseSettings):
    # a bad key must not be echoed into the start-up error
    model_config = SettingsConfigDict(env_prefix="HUB_INTAKE_", env_file=".env", extra="ignore", hide_input_in_errors=True)

    pseudonym_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_ONLY_PSEUDONYM_KEY), min_length=MIN_HASH_KEY_BYTES,
        description="Key of the citizen pseudonym on the bus and of the national-ID look-up hash; "
                    "set a long random value in production",
    )
    data_keys: SecretStr = Field(
        SecretStr(DEVELOPMENT_ONLY_DATA_KEYS),
        description="Keys that encrypt personal data at rest: 'id:base64key' (32 bytes each), comma-separated, "
                    "newest first; the default is a published development key, unsafe in production",
    )
    follow_up_phone: str = Field("111", description="Phone number citizens call to follow a case up")
    submissions_per_citizen_per_day: int = Field(20, ge=1, description="Cases one national ID may file a day (abuse control)")
    duplicate_similarity: float = Field(
        0.85, gt=0.5, le=1.0, description="How alike (0-1) the subject and description of two cases of one citizen at one "
                                           "agency must be to count as the same matter")
    sources_file: Path | None = Field(None, description="YAML of the systems that may submit on hub.inbound.v1 and the "
                                                        "channels each may claim; empty uses the shipped sources.yaml")
    max_attachment_bytes: int = Field(4_000_000, ge=10_000, le=50_000_000, description="Largest attachment (decoded)")
    tracking_failures_per_code: int = Field(
        5, ge=1, description="Wrong national IDs or phones tried against one tracking code per 15 minutes before it locks")
    ratings_per_address_per_hour: int = Field(10, ge=1, description="Satisfaction ratings one address may give an hour")
    trusted_proxies: str = Field("", description="Comma-separated addresses or networks (the citizen's portal) whose "
                                                 "X-Forwarded-For names the citizen for the per-address limits; empty: none")
    rating_release_seconds: float = Field(
        60, gt=0, le=3600, description="Ratings are held and released in shuffled batches this often, so publish times "
                                       "do not single out a visitor")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            ipaddress.ip_network(item, strict=False)  # ValueError names the bad entry
        return value

    @field_validator("data_keys")
    @classmethod
    def _well_formed_keys(cls, value: SecretStr) -> SecretStr:
        parse_data_keys(value.get_secret_value())
        return value

    def development_secrets(self) -> list[str]:
        """The secret settings still at their published development values."""
        return [name for name, default in (("HUB_INTAKE_DATA_KEYS", DEVELOPMENT_ONLY_DATA_KEYS),
                                           ("HUB_INTAKE_PSEUDONYM_KEY", DEVELOPMENT_ONLY_PSEUDONYM_KEY))
                if getattr(self, name.removeprefix("HUB_INTAKE_").lower()).get_secret_value() == default]

    @cached_property
    def personal_data_vault(self) -> PersonalDataVault:
        return PersonalDataVault(parse_data_keys(self.data_keys.get_secret_value()),
                                 hash_key=self.pseudonym_key.get_secret_value().encode())
