"""Typed settings shared by every service, read from the environment (and an optional `.env`).

Standard names (`KAFKA_BOOTSTRAP_SERVERS`, `DATABASE_URL`, `OTEL_EXPORTER_OTLP_ENDPOINT`) switch the
same code between the embedded default and real engines; the rest carry the `HUB_` prefix.
"""

from enum import Enum
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

THURSDAY_OFF_NAMES = ("HUB_THURSDAY_OFF", "HUB_ROUTING_THURSDAY_OFF", "HUB_FOLLOWUP_THURSDAY_OFF")
HOLIDAYS_FILE_NAMES = ("HUB_HOLIDAYS_FILE", "HUB_ROUTING_HOLIDAYS_FILE")
"""The working calendar's settings (`hub_shared.calendar`): the first name is the one to use; the others are
still read, from when routing and follow-up each had a calendar of their own."""


class KafkaProfile(str, Enum):
    """Consumer-group timeouts. A process killed without leaving its group keeps its partitions until its
    session times out, so the session timeout bounds how soon a restarted (or surviving) consumer takes
    over; heartbeats must come several times per session. `production` (Apache Kafka): a 10 s session,
    Kafka's pre-3.0 default, enough for a stop-the-world pause; `embedded` (`hub up`, the single local
    broker, no network in between): 3 s; `test`: as embedded, with short fetch waits."""

    production = "production"
    embedded = "embedded"
    test = "test"


class Environment(str, Enum):
    """`production` refuses to start with the published development keys."""

    development = "development"
    production = "production"


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", env_file=".env", extra="ignore", populate_by_name=True)

    service_name: str = Field("hub", description="Name used in traces, logs and consumer groups")
    environment: Environment = Field(Environment.development, description="production refuses development keys")
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "HUB_KAFKA_BOOTSTRAP_SERVERS"),
        description="Comma-separated Kafka bootstrap servers",
    )
    kafka_profile: KafkaProfile = KafkaProfile.production
    kafka_idle_fetch_wait_ms: int = Field(0, ge=0, le=30000, description=(
        "How long a consumer's fetch waits at the broker while its topic has been quiet (`hub_shared.consumer.FetchPace`); "
        "0: the profile's"))
    consumer_linger_ms: int | None = Field(None, ge=0, le=1000, description=(
        "How long a consumer that got a partial batch waits for more records before applying it: fewer, fuller "
        "transactions while records flow, at that much latency per hop; empty: the profile's (50, none in tests)"))
    consumer_background_linger_ms: int | None = Field(None, ge=0, le=5000, description=(
        "The same for groups nobody waits on within a second (read models, timers, mirrors to other systems; "
        "`hub_shared.consumer.Subscription.prompt`), which also let their fetches wait as long at the broker while "
        "records flow; empty: the profile's (250, none in tests)"))
    kafka_idempotent_producer: bool = Field(False, description="Turn on with Apache Kafka; the embedded broker lacks it")
    database_url: str = Field(
        "",
        validation_alias=AliasChoices("DATABASE_URL", "HUB_DATABASE_URL"),
        description="SQLAlchemy async URL; empty means a SQLite file in the data folder",
    )
    data_dir: Path = Field(Path("./var"), description="Where the embedded default keeps its files")
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, ge=1, le=65535)
    otlp_endpoint: str = Field(
        "",
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT", "HUB_OTLP_ENDPOINT"),
        description="OTLP/HTTP endpoint for traces; empty writes spans to a JSON-lines file",
    )
    traces_per_second: float = Field(10.0, ge=0, description=(
        "New traces this process starts a second, at most (`hub_shared.telemetry.TracesPerSecond`): a case whose "
        "trace is kept is kept whole, in every service; the rest still carry their trace ids in events and logs. "
        "0: none. OTEL_TRACES_SAMPLER, when set, decides instead"))
    log_level: str = "INFO"
    max_message_bytes: int = Field(1_000_000, gt=0, description="Largest event body accepted or published")
    max_request_bytes: int = Field(256_000, gt=0, description="Largest HTTP request body accepted")
    # Admission control (hub_shared.admission). 32 requests at once: intake's group commit writes whoever waits
    # together, so more at once means larger groups (fewer transactions), and the database pool (15 connections on
    # SQLite, 20 on PostgreSQL) is not what they wait for: a group takes one. 0.25 s in the queue, and at most as
    # long again for a filing's group commit to start: at three times the pipeline's capacity (108 filings/s on
    # 2 cores, SQLite) the longest wait measured was 1.3 s with 0.25 s against 1.9 s with 0.5 s, under the 2 s a
    # client should ever wait. 150 queued: about what the fastest rate (about 300 a second) starts within the budget
    # and a little more; one further back would wait it out only to be refused. Retry-After 2 s: by then the queue
    # has turned over many times, and a citizen at the form is not kept long.
    http_max_in_flight: int = Field(32, ge=1, le=10_000, description="HTTP requests one process serves at once")
    http_max_queued: int = Field(150, ge=0, le=100_000, description="HTTP requests waiting for one of those places")
    http_queue_seconds: float = Field(0.25, gt=0, le=5, description="Longest wait for a place before a 503")
    http_retry_after_seconds: int = Field(2, ge=1, le=3600, description="Retry-After of a 503 for overload")
    consumer_retries: int = Field(3, ge=1, le=20, description="Attempts before a message goes to the DLQ")
    consumer_batch_size: int = Field(200, ge=1, le=5000)
    public_requests_per_minute: int = Field(30, ge=1, description="Per client IP, on each public endpoint")
    lookup_misses_allowed: int = Field(10, ge=1, description="Unknown tracking codes one IP may try per 15 minutes")
    outbox_batch_size: int = Field(500, ge=1, le=10000)
    outbox_poll_seconds: float = Field(5.0, gt=0, le=300, description=(
        "The relay's safety poll: commits in the same process wake it at once; this finds rows other processes put back "
        "in line (`hub outbox release`, `hub reconcile --repair`)"))
    thursday_off: bool = Field(True, validation_alias=AliasChoices(*THURSDAY_OFF_NAMES),
                               description="Whether Thursday is a day off in the standard working week (routing, followup, reporting)")
    holidays_file: Path | None = Field(None, validation_alias=AliasChoices(*HOLIDAYS_FILE_NAMES), description=(
        "YAML of days offices close (`add`) and official holidays they work (`remove`); empty: the official holidays only"))

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("HUB_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @field_validator("holidays_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.service_name}.db').resolve()}"

    @property
    def trace_file(self) -> Path:
        return self.data_dir / "traces" / f"{self.service_name}.jsonl"

    def refuse_development_secrets(self, *secret_settings) -> None:
        """In production, stop with the names of secrets still at their development values (never the values)."""
        unsafe = [name for settings in secret_settings for name in settings.development_secrets()]
        if self.environment is Environment.production and unsafe:
            raise SystemExit(f"{self.service_name}: HUB_ENVIRONMENT=production but {', '.join(unsafe)} "
                             "still hold the published development values; set them from the deployment's secrets")

    def consumer_timeouts(self) -> dict[str, int]:
        """Group timeouts, and how long a fetch waits at the broker while records flow (`fetch_max_wait_ms`)."""
        if self.kafka_profile is KafkaProfile.test:
            return {"session_timeout_ms": 3000, "heartbeat_interval_ms": 300, "fetch_max_wait_ms": 20}
        if self.kafka_profile is KafkaProfile.embedded:
            return {"session_timeout_ms": 3000, "heartbeat_interval_ms": 1000, "fetch_max_wait_ms": 50}
        return {"session_timeout_ms": 10000, "heartbeat_interval_ms": 2000, "fetch_max_wait_ms": 50}

    def consumer_linger_seconds(self, prompt: bool = True) -> float:
        """Measured on the whole hub at 30 cases/s offered (SQLite, 2 cores): the four consumer services' CPU per case
        was 33.5 ms without a linger, 27.8 ms with 50 ms and 21.5 ms with 100 ms. 50 ms keeps the latency a hop adds
        small where somebody waits on it; the groups nobody waits on take 250 ms (`consumer_background_linger_ms`)."""
        chosen, default = (self.consumer_linger_ms, 0.05) if prompt else (self.consumer_background_linger_ms, 0.25)
        if chosen is not None:
            return chosen / 1000
        return 0.0 if self.kafka_profile is KafkaProfile.test else default

    def busy_fetch_wait_ms(self, prompt: bool = True) -> int:
        """How long a fetch waits at the broker while records flow: the profile's short wait where somebody waits on
        the group's effects, else as long as the group lingers (a fetch or two a linger instead of one every 50 ms)."""
        short = self.consumer_timeouts()["fetch_max_wait_ms"]
        return short if prompt else max(short, round(self.consumer_linger_seconds(prompt=False) * 1000))

    def idle_fetch_wait_ms(self) -> int:
        """How long a fetch waits while the consumer's topic is quiet. The embedded broker answers a waiting fetch
        only when it looks again, halfway through the wait (then at three quarters, ...), so a record arriving
        then waits up to half of it: 2 s here costs the first record after a quiet spell up to 1 s, and spares
        the broker nine in ten of its looks. Apache Kafka answers as soon as a record arrives, so the wait costs
        nothing there; the test profile keeps its short waits."""
        if self.kafka_idle_fetch_wait_ms:
            return self.kafka_idle_fetch_wait_ms
        defaults = {KafkaProfile.test: 20, KafkaProfile.embedded: 2000, KafkaProfile.production: 500}
        return defaults[self.kafka_profile]
