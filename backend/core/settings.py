"""The one settings object: every knob comes from a `VIGIL_` environment variable or `.env`."""

import os
from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCALTIME = Path("/etc/localtime")


def _iana(name: str | None) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def _from_zoneinfo_path(path: str) -> str | None:
    """'Europe/London' from '/usr/share/zoneinfo/Europe/London' (or its posix/ or right/
    copies); None when the path is not inside a zoneinfo tree."""
    _, found, key = path.rpartition("zoneinfo/")
    if not found:
        return None
    for prefix in ("posix/", "right/"):
        key = key.removeprefix(prefix)
    return key


def local_zone_name(tz_env: str | None, localtime_target: str | None) -> str:
    """The server's own IANA time zone: the TZ variable when it names one (as `Europe/London`,
    `:Europe/London` or a zoneinfo file path), else the zone /etc/localtime links to, else UTC.
    A TZ that is a POSIX rule without a name (`CET-1CEST`) says no zone and is passed over."""
    if tz_env:
        given = tz_env.removeprefix(":")
        zone = _iana(given) if not given.startswith("/") else _iana(_from_zoneinfo_path(given))
        if zone:
            return zone
    if localtime_target:
        zone = _iana(_from_zoneinfo_path(localtime_target))
        if zone:
            return zone
    return "UTC"


def server_zone_name() -> str:
    """The zone this server runs in (see local_zone_name), read when settings are made."""
    try:
        target: str | None = os.readlink(LOCALTIME)
    except OSError:  # missing, or a copy rather than a link
        target = None
    return local_zone_name(os.environ.get("TZ"), target)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIL_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/vigil.db",
        description="SQLAlchemy URL; a relative SQLite path is relative to the working directory.",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    frontend_dir: Path = REPO_ROOT / "frontend"
    # "auto" marks the cookie Secure when the request arrived over HTTPS (directly or via a proxy
    # that uvicorn trusts); set "true" behind any TLS-terminating proxy you do not configure.
    cookie_secure: Literal["auto", "true", "false"] = "auto"
    login_idle_minutes: int = Field(default=12 * 60, ge=5)
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Extra browser origins allowed to call the API; Vigil's own always is.",
    )
    future_tolerance_seconds: int = Field(
        default=120, ge=0, description="How far ahead of the server clock a taken_at may be."
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body accepted (a full batch of 1000 readings is ~300 kB); "
        "a larger one is refused with 413 before it is read",
    )
    db_concurrency: int = Field(
        default=16,
        ge=1,
        le=64,
        description="Requests that may hold a database transaction at once; the rest queue",
    )
    overload_wait_seconds: float = Field(
        default=10.0,
        gt=0,
        description=(
            "Longest wait for a turn, the write lock or a connection before a request is "
            "answered 503 with Retry-After"
        ),
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A request's headers must arrive within this long of its first byte; a "
        "client that stalls mid-headers is answered 408 and disconnected",
    )
    body_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A request's body must arrive whole within this long of the request's "
        "start (a full batch takes well under a second); a trickling client gets 408",
    )
    keep_alive_seconds: int = Field(
        default=5, ge=1, description="An idle connection between requests is closed after this"
    )
    max_connections: int | None = Field(
        default=1000,
        ge=10,
        description="Connections and requests served at once; beyond it new ones get 503",
    )
    stream_queue_size: int = Field(default=1000, ge=10)
    # Short enough that a browser notices a link gone silent (three missed heartbeats) within
    # seconds and raises its "connection lost" technical alarm.
    stream_heartbeat_seconds: float = Field(default=5.0, gt=0)
    stream_send_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A stream client that takes longer to accept a message is closed (4408)",
    )
    stream_gap_wait_seconds: float = Field(default=0.5, gt=0)
    stream_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often to look for events committed by other workers"
    )
    # ---- HL7 v2 over MLLP (bedside monitors and device gateways; README "Connecting monitors")
    mllp_host: str = Field(
        default="127.0.0.1",
        description="Address the MLLP listener binds (0.0.0.0: every interface, for monitors "
        "on the clinic network)",
    )
    mllp_port: int = Field(
        default=2575,
        ge=0,
        le=65535,
        description="MLLP listener port (2575 is HL7's); 0 turns it off",
    )
    mllp_max_message_bytes: int = Field(
        default=1024 * 1024,
        ge=4096,
        description="Largest HL7 message accepted; a larger one is answered AR and its connection "
        "closed, never buffered past this",
    )
    mllp_max_connections: int = Field(
        default=50,
        ge=1,
        le=10_000,
        description="MLLP connections served at once; one beyond is closed at once (logged)",
    )
    mllp_message_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A message must arrive whole within this long of its start block; a sender "
        "that stalls mid-message is disconnected (logged)",
    )
    mllp_idle_timeout_seconds: float = Field(
        default=600.0,
        gt=0,
        description="A connection that completes no message for this long is closed (a monitor "
        "reconnects when it next sends)",
    )
    mllp_bind_retry_seconds: float = Field(
        default=5.0,
        gt=0,
        description="With several workers only one holds the MLLP port; the others try to take "
        "it over this often",
    )
    simulator_mllp: bool = Field(
        default=False,
        description="The simulator's monitors send their readings as HL7 PCD-01 over MLLP to the "
        "listener (the real device path) instead of storing them directly",
    )
    admin_password: str | None = None
    alert_tick_seconds: float = Field(
        default=1.0, gt=0, description="How often time-based alarm rules are checked"
    )
    simulation_tick_seconds: float = Field(
        default=0.5, gt=0, description="How often running simulations send what they produced"
    )
    news2_max_age_minutes: float = Field(
        default=30,
        gt=0,
        description="NEWS2 is scored only when every parameter was observed this recently",
    )
    escalation_webhook_url: str | None = Field(
        default=None, description="Escalated alarms are POSTed here as JSON (e.g. a paging gateway)"
    )
    clinic_timezone: str = Field(
        default_factory=server_zone_name,
        description="IANA time zone (e.g. Europe/London) for clock times on records and in "
        "checklists; the server's own zone (TZ, else /etc/localtime) when not set, else UTC",
    )
    # ---- issue 18 item 1: events across processes on PostgreSQL (backend/streaming/notify.py)
    stream_notify: bool = Field(
        default=True,
        description="On PostgreSQL, wake the other processes' streams by LISTEN/NOTIFY after "
        "each commit (off: they find new events by the poll alone)",
    )
    stream_notify_interval_seconds: float = Field(
        default=0.005,
        ge=0,
        le=1,
        description="At most one NOTIFY per this interval; it carries the latest seq",
    )
    stream_listen_retry_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Longest wait between attempts to reconnect the stream's LISTEN connection",
    )

    @field_validator("clinic_timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        # Refused at start-up, not on the first phase change or printed record.
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not an IANA time zone such as 'Europe/London'") from None
        return name

    @model_validator(mode="after")
    def _simulator_needs_listener(self) -> Self:
        if self.simulator_mllp and self.mllp_port == 0:
            raise ValueError(
                "VIGIL_SIMULATOR_MLLP sends the simulator's readings to the MLLP listener, "
                "which VIGIL_MLLP_PORT=0 turns off"
            )
        return self

    @property
    def clinic_zone(self) -> ZoneInfo:
        return ZoneInfo(self.clinic_timezone)

    # issue 18 item 2: several processes share one database; one of them runs each singleton
    # (the alarm clock) under a lease in the database (core/lease.py, README "Several processes
    # and hosts"). A dead holder's lease lapses after lease_seconds; the others try every
    # lease_renew_seconds, so one takes over within their sum (8 s by default).
    lease_seconds: float = Field(
        default=6.0, gt=0, description="How long a singleton's lease lasts unless renewed"
    )
    lease_renew_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often the holder renews its lease and the other processes try to take it",
    )

    @model_validator(mode="after")
    def _lease_renewed_in_time(self) -> Self:
        # Two renewals per term: one that meets a busy database does not lose the lease.
        if self.lease_renew_seconds * 2 > self.lease_seconds:
            raise ValueError(
                "VIGIL_LEASE_RENEW_SECONDS must be at most half of VIGIL_LEASE_SECONDS"
            )
        return self

    # issue 18 item 5: stored history never slows live work. Stream events are the live feed's
    # resume log, not the record: kept this long, then pruned (streaming/retention.py) by one
    # process at a time, in bounded batches. A browser reconnecting with an older cursor is
    # told to reload (`reset`) instead of getting what it missed event by event.
    stream_retention_minutes: float = Field(
        default=60.0,
        ge=1,
        description="Stream events are kept this long for reconnecting browsers to resume from; "
        "older ones are deleted (a cursor older than this gets 'reset': reload)",
    )
    stream_prune_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often what is past its retention is pruned (stream events, device "
        "messages)",
    )
    stream_prune_batch: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Rows deleted per transaction when pruning (a pass takes at most 100 such "
        "batches of each kind, then yields)",
    )
    # A device message is the transport's log (its readings are stored as readings): kept for
    # troubleshooting, for a resend to be recognised, and for a device not yet bound to a chair
    # to be bound with its recent readings (devices/retention.py).
    device_message_retention_hours: float = Field(
        default=72.0,
        ge=1,
        description="Messages from monitors and gateways are kept this long, then deleted "
        "(their readings stay in the record); a device's unbound readings older than this are "
        "gone with them",
    )
