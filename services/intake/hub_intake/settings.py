from functools import cached_property

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub_shared.vault import MIN_HASH_KEY_BYTES, PersonalDataVault, parse_data_keys

# base64 of b"development-only-key-not-secret!": anyone can read it, so it protects nothing
DEVELOPMENT_ONLY_DATA_KEYS = "dev-insecure:ZGV2ZWxvcG1lbnQtb25seS1rZXktbm90LXNlY3JldCE="


class IntakeSettings(BaseSettings):
    # a bad key must not be echoed into the start-up error
    model_config = SettingsConfigDict(env_prefix="HUB_INTAKE_", env_file=".env", extra="ignore", hide_input_in_errors=True)

    pseudonym_key: SecretStr = Field(
        SecretStr("embedded-default-pseudonym-key"), min_length=MIN_HASH_KEY_BYTES,
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

    @field_validator("data_keys")
    @classmethod
    def _well_formed_keys(cls, value: SecretStr) -> SecretStr:
        parse_data_keys(value.get_secret_value())
        return value

    @cached_property
    def personal_data_vault(self) -> PersonalDataVault:
        return PersonalDataVault(parse_data_keys(self.data_keys.get_secret_value()),
                                 hash_key=self.pseudonym_key.get_secret_value().encode())
