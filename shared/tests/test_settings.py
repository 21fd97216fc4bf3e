import pytest
from pydantic import ValidationError

from hub_shared.settings import HubSettings, KafkaProfile


def test_standard_names_switch_to_real_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://hub@db/hub_intake")
    settings = HubSettings(service_name="intake")
    assert settings.kafka_bootstrap_servers == "kafka-1:9092,kafka-2:9092"
    assert settings.effective_database_url == "postgresql+asyncpg://hub@db/hub_intake"


def test_embedded_default_is_a_sqlite_file_per_service(tmp_path) -> None:
    settings = HubSettings(service_name="routing", data_dir=tmp_path, database_url="")
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/routing.db"


def test_test_profile_joins_fast_and_production_stays_kafka_safe() -> None:
    assert HubSettings(kafka_profile=KafkaProfile.test).consumer_timeouts()["session_timeout_ms"] <= 6000
    production = HubSettings().consumer_timeouts()
    assert production["session_timeout_ms"] >= 6000, "Apache Kafka refuses sessions below group.min.session.timeout.ms (6 s)"
    assert production["heartbeat_interval_ms"] * 3 <= production["session_timeout_ms"]


@pytest.mark.parametrize("field,value", [("http_port", 70000), ("log_level", "LOUD"), ("consumer_retries", 0),
                                         ("http_max_in_flight", 0), ("http_max_queued", -1), ("http_queue_seconds", 0),
                                         ("http_queue_seconds", 30), ("http_retry_after_seconds", 0)])
def test_bad_settings_are_refused_with_the_setting_named(field: str, value) -> None:
    with pytest.raises(ValidationError, match=field):
        HubSettings(**{field: value})


def test_production_refuses_the_published_development_keys_and_names_them_without_their_values() -> None:
    from hub_shared.auth import DEVELOPMENT_KEY, AuthSettings

    production = HubSettings(service_name="routing", environment="production")
    with pytest.raises(SystemExit) as stop:
        production.refuse_development_secrets(AuthSettings())
    assert "HUB_AUTH_SIGNING_KEY" in str(stop.value) and DEVELOPMENT_KEY not in str(stop.value)
    production.refuse_development_secrets(AuthSettings(signing_key="a-deployment-key-from-the-secret-store-0123"))
    HubSettings(service_name="routing").refuse_development_secrets(AuthSettings())  # development accepts them
