"""Settings from environment variables (``TAYDO_*``) and an optional ``taydo.toml``.

Every setting is documented in ``docs/configuration.md``; a test fails when one is not.
"""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_SECRET_KEY = "change-me-taydo-default-secret"  # noqa: S105 - refused by `taydo serve`
# HMAC-SHA256 signs sessions and CSRF tokens: a key shorter than its 32-byte output can be
# guessed far sooner than the hash can be broken (and "abc" by hand).
MIN_SECRET_KEY_BYTES = 32


class Settings(BaseSettings):
    """Runtime configuration. Environment variables override ``taydo.toml``."""

    model_config = SettingsConfigDict(
        env_prefix="TAYDO_",
        extra="ignore",
        toml_file=os.environ.get("TAYDO_CONFIG_FILE", "taydo.toml"),
    )

    database_url: str = Field(
        "sqlite:///./taydo.db", description="SQLAlchemy URL of the IOC's own database."
    )
    bus_url: str = Field("memory://", description="Event bus: memory:// or nats://host:port.")
    host: str = Field("127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(8000, description="Port the HTTP server listens on.")
    display_timezone: str = Field(
        "Asia/Ho_Chi_Minh", description="Time zone used to show times and align buckets."
    )
    secret_key: SecretStr = Field(
        SecretStr(DEFAULT_SECRET_KEY), description="Key that signs sessions and CSRF tokens."
    )
    dev: bool = Field(False, description="Development mode: allows the default secret key.")
    cookie_secure: bool = Field(False, description="Mark session cookies Secure (behind HTTPS).")
    session_hours: float = Field(12.0, description="Hours a console session lasts.")
    max_request_bytes: int = Field(
        10 * 1024 * 1024, description="Largest request body accepted by the ingest API."
    )
    max_batch_items: int = Field(10_000, description="Most items in one ingest request.")
    commit_max_rows: int = Field(
        20_000, description="Most rows the group-commit writer puts in one transaction."
    )
    observations_pack_after_hours: float = Field(
        48.0,
        description="Pack raw observations into one row per series and hour once the hour "
        "ended this many hours ago (late data usually arrives before); 0 turns it off.",
    )
    observations_pack_interval_s: float = Field(
        3600.0, description="Seconds between the server's compaction runs."
    )
    kpi_interval_s: float = Field(
        300.0,
        description="Seconds between the server's KPI computations (one process of a "
        "cluster computes); 0 turns them off (`taydo kpi compute` still works).",
    )
    contexts_dir: Path = Field(
        Path("./contexts"),
        description="Folder of the NGSI-LD JSON-LD context store (`taydo contexts add`).",
    )
    ngsild_fetch_remote_contexts: bool = Field(
        False, description="Let the NGSI-LD API fetch unknown @context URLs over the network."
    )
    console_area: str = Field(
        "92",
        description="Official code of the province/city whose wards the console's Areas page "
        "lists and whose outlines the overview map draws (92 = Cần Thơ).",
    )
    basemap_pmtiles: Path | None = Field(
        None,
        description="A PMTiles file (vector, Protomaps basemap layers, or raster PNG/JPEG/WebP "
        "tiles) the overview map draws under the outlines; served by the IOC itself with "
        "HTTP Range requests. Unset: no basemap file.",
    )
    basemap_url: str = Field(
        "",
        description="A tile server of the IOC's own network for the overview map, as a URL "
        "template with {z}/{x}/{y} (e.g. https://tiles.example.vn/{z}/{x}/{y}.png); its origin "
        "is added to the page's img-src. Used when no PMTiles file is set; empty: none.",
    )
    basemap_attribution: str = Field(
        "", description="Attribution text shown on the map for the basemap (e.g. © OpenStreetMap)."
    )

    alert_check_interval_s: float = Field(
        5.0, description="Seconds between checks of absence rules and composite-rule windows."
    )
    alert_renotify_check_s: float = Field(
        30.0, description="Seconds between checks for re-notification and escalation steps."
    )
    webhook_timeout_s: float = Field(
        10.0, description="Seconds a webhook or SMTP delivery may take before it counts as failed."
    )
    notify_backoff_s: float = Field(
        5.0, description="First retry delay of a failed notification; doubles on each retry."
    )
    directives_files_dir: Path = Field(
        Path("./files/directives"),
        description="Folder where directive attachments and evidence files are stored.",
    )
    directives_max_file_bytes: int = Field(
        10 * 1024 * 1024, description="Largest attachment or evidence file of a directive."
    )
    incidents_files_dir: Path = Field(
        Path("./files/incidents"),
        description="Folder where files attached to incidents are stored.",
    )
    incidents_max_file_bytes: int = Field(
        10 * 1024 * 1024, ge=1, description="Largest file attached to an incident."
    )
    directives_check_s: float = Field(
        60.0, description="Seconds between checks for due and overdue directives (reminders)."
    )
    directives_remind_before_hours: float = Field(
        24.0, description="Hours before a directive's deadline its agencies are reminded."
    )
    stream_queue_size: int = Field(
        1000, description="Events buffered per live-stream client before it gets a resync."
    )
    cap_sender: str = Field(
        "ioc@taydo.local", description="CAP <sender> of public warnings (an address or URI)."
    )
    cap_sender_name: str = Field(
        "Trung tâm Giám sát, điều hành đô thị thông minh",
        description="CAP <senderName> of public warnings.",
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8000", description="External base URL used in CAP feed links."
    )
    # -- ingest gateways (MQTT, files, connectors, data health) ---------------------------
    mqtt_url: str = Field(
        "", description="MQTT broker to subscribe to (mqtt://[user:pass@]host[:port]); empty: off."
    )
    mqtt_client_id: str = Field(
        "taydo-ioc", description="MQTT client id; names the broker's persistent session."
    )
    mqtt_topic_prefix: str = Field(
        "taydo", description="First level of the Tây Đô topic tree <prefix>/<agency>/<id>/attrs."
    )
    mqtt_iota_services: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="FIWARE IoT Agent service groups: apikey → {agency, type?}.",
    )
    mqtt_batch_max: int = Field(5000, description="Most MQTT messages committed per batch.")
    max_upload_bytes: int = Field(
        20 * 1024 * 1024, description="Largest .xlsx/.csv file accepted by an upload."
    )
    connectors_enabled: bool = Field(
        True, description="Run the pull connectors on their schedule inside the server."
    )
    cluster_shards: int = Field(
        32,
        ge=1,
        le=4096,
        description="Parts the rule evaluation is split into between the processes of a "
        "cluster (PostgreSQL + NATS); the same on every process.",
    )
    lease_check_s: float = Field(
        1.0,
        gt=0,
        description="Seconds between a cluster process's checks of its leases (how soon a "
        "survivor takes over a dead process's duties and shards).",
    )
    shutdown_timeout_s: float = Field(
        8.0,
        gt=0,
        description="Seconds `taydo serve` waits on SIGTERM for requests in flight before it "
        "closes them and stops.",
    )
    health_check_interval_s: float = Field(
        60.0, description="Seconds between data-health checks (dataset.stale events)."
    )

    # -- admission control (per process; see docs/operations.md) ---------------------------
    admission_ingest_requests: int = Field(
        16,
        ge=1,
        description="Ingest requests (observations, NGSI-LD writes, uploads) served "
        "at once; more are answered 503 with Retry-After before any work starts.",
    )
    admission_ingest_bytes: int = Field(
        64 * 1024 * 1024, ge=1, description="Request bytes of the ingest requests in flight."
    )
    admission_query_requests: int = Field(
        16, ge=1, description="API reads and other API writes served at once."
    )
    admission_query_bytes: int = Field(
        16 * 1024 * 1024, ge=1, description="Request bytes of the API requests in flight."
    )
    admission_console_requests: int = Field(
        32, ge=1, description="Console pages, forms and static files served at once."
    )
    admission_console_bytes: int = Field(
        16 * 1024 * 1024, ge=1, description="Request bytes of the console requests in flight."
    )
    admission_login_requests: int = Field(
        4,
        ge=1,
        description="Logins and logouts served at once (each password check is slow "
        "and takes memory on purpose).",
    )
    admission_login_bytes: int = Field(
        1024 * 1024, ge=1, description="Request bytes of the logins in flight."
    )
    admission_health_requests: int = Field(
        8, ge=1, description="/healthz, /readyz and /metrics requests served at once."
    )
    admission_stream_clients: int = Field(
        500, ge=1, description="Live-stream (Server-Sent Events) clients connected at once."
    )
    admission_retry_after_s: int = Field(
        2, ge=1, description="Seconds a shed request is told to wait (Retry-After)."
    )
    # -- citizen field reports (Open311; see docs/citizen.md) ------------------------------
    citizen_photos_dir: Path = Field(
        Path("./citizen-photos"),
        description="Folder where citizen report photos are kept (stripped of metadata, "
        "never in the database).",
    )
    citizen_photo_max_bytes: int = Field(
        8 * 1024 * 1024, ge=1, description="Largest photo accepted with a citizen report."
    )
    citizen_public_posts_per_minute: int = Field(
        6,
        ge=1,
        description="Reports one client address may post per minute without an API key "
        "(per process).",
    )
    citizen_duplicate_radius_m: float = Field(
        150.0,
        gt=0,
        description="Reports of the same category within this distance are "
        "suggested as duplicates.",
    )
    citizen_duplicate_hours: float = Field(24.0, gt=0, description="… and within this many hours.")
    citizen_reopen_days: float = Field(
        7.0, ge=0, description="Days after closing during which the reporter may reopen."
    )
    citizen_remind_before_h: float = Field(
        2.0, ge=0, description="Hours before a report's due time its agency is reminded."
    )
    citizen_jurisdiction_id: str = Field(
        "cantho.gov.vn", description="The Open311 jurisdiction_id this server answers for."
    )
    # -- operations: health and metrics -----------------------------------------------------
    metrics_token: SecretStr = Field(
        SecretStr(""),
        description="Bearer token Prometheus sends to /metrics; empty: only "
        "callers holding the ops:metrics permission (admin) may read it.",
    )
    metrics_public: bool = Field(
        False, description="Serve /metrics to anyone (a closed network behind a proxy)."
    )

    @field_validator("display_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError) as exc:  # a typo must fail at start-up, clearly
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("basemap_url")
    @classmethod
    def _tile_template(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        if not value.startswith(("http://", "https://", "/")) or not all(
            part in value for part in ("{z}", "{x}", "{y}")
        ):
            raise ValueError(
                f"basemap_url {value!r} must be an http(s) URL or a path with {{z}}, {{x}} "
                "and {y}"
            )
        return value

    @property
    def basemap_origin(self) -> str | None:
        """The tile server's origin (scheme://host[:port]) when it is another host."""
        if not self.basemap_url.startswith(("http://", "https://")):
            return None
        scheme, rest = self.basemap_url.split("://", 1)
        return f"{scheme}://{rest.split('/', 1)[0]}"

    def secret_key_problem(self) -> str | None:
        """Why the secret key may not sign a real deployment's sessions, or None when it may.

        Only development mode (``--dev``, ``TAYDO_DEV``) accepts a weak key, so a demo or a
        test needs none; checked by ``taydo serve`` before anything starts."""
        if self.dev:
            return None
        key = self.secret_key.get_secret_value()
        if key == DEFAULT_SECRET_KEY:
            return "TAYDO_SECRET_KEY chưa đặt: khóa mặc định / is not set: this is the default key"
        if len(key.encode()) < MIN_SECRET_KEY_BYTES:
            return (
                f"TAYDO_SECRET_KEY quá ngắn / is too short: {len(key.encode())} bytes, "
                f"at least {MIN_SECRET_KEY_BYTES} needed"
            )
        return None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.display_timezone)

    @property
    def sqlite_path(self) -> Path | None:
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url[len(prefix) :])
        return None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))
