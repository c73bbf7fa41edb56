"""Configuration of the controller service (see ``config/controller.example.toml``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from audio.script import ScriptSettings
from audio.settings import AudioSettings
from controller.alerts.settings import AlertSettings
from controller.fleet.settings import FleetSettings
from controller.devices.map_settings import MapSettings
from controller.notifications.settings import NotificationSettings
from controller.people.settings import PeopleSettings
from controller.operations.retention_settings import RetentionSettings
from controller.security.settings import BrokerSettings, SecuritySettings
from controller.streaming.settings import StreamingSettings
from loaxa.config import ConfigError, MqttSettings, PathIn, section, setting
from schedules.settings import ScheduleSettings


@dataclass(frozen=True)
class HttpSettings:
    host: str = setting("127.0.0.1", "address the web UI, API and media server listen on")
    port: int = setting(8080, "TCP port of the web UI, API and media server")
    public_url: str = setting("", "URL devices use to reach this controller (default: https://host:port, or http:// with tls off)")
    tls: bool = setting(
        True, "serve HTTPS, with a certificate the deployment's CA issues on first start (broker tls/controller.crt); "
              "false: plain HTTP, for the demo on loopback (beyond it only with [broker] allow_plaintext, loudly warned)")
    tls_cert: str = setting("", "certificate (PEM, chain included) of your own for HTTPS; empty: issued by the deployment's CA")
    tls_key: str = setting("", "private key (PEM) of tls_cert")
    threads: int = setting(8, "HTTP worker threads")
    trusted_proxies: int = setting(
        0, "reverse proxies (e.g. nginx) in front of this listener whose X-Forwarded-For and X-Forwarded-Proto "
           "are believed; 0: none, the headers are ignored and clients are told apart by their own address")

    def __post_init__(self) -> None:
        if self.trusted_proxies < 0:
            raise ConfigError(f"http.trusted_proxies must be 0 (no proxy) or the number of proxies, got {self.trusted_proxies}")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ConfigError("http.tls_cert and http.tls_key go together: set both, or neither to use the deployment's CA")


@dataclass(frozen=True)
class PlanSettings:
    horizon_hours: float = setting(48.0, "how far ahead each device's plan reaches")
    republish_s: int = setting(600, "how often every plan is rebuilt and republished if it changed")
    command_ttl_s: int = setting(120, "how long an immediate command stays valid")
    emergency_resend_s: float = setting(5.0, "an emergency is sent again to each device that has not reported it started, this often, until the command expires")
    render_lead_minutes: int = setting(60, "media of a broadcast is checked (and re-rendered if missing) this long before it airs")
    missed_after_s: float = setting(60.0, "a play no device reported this long after its start counts as missed in reports (keep it at the agents' late_tolerance_s)")
    misfire_grace_s: int = setting(300, "a job missed while the controller was down still runs if at most this late")
    auto_approve: bool = setting(False, "approve new and edited broadcasts at once, without an approver (small installations only)")
    editor_min_volume: int = setting(
        50, "lowest volume, in percent, an editor may set on a pole; approvers and administrators may set any")
    emergency_min_volume: int = setting(
        80, "every emergency item carries at least this volume (percent), signed: a pole turned down still sounds the warning")
    low_volume_fault: int = setting(
        20, "a pole reporting a volume below this (percent) shows the fault 'low_volume' and is not ready")

    def __post_init__(self) -> None:
        for name in ("editor_min_volume", "emergency_min_volume", "low_volume_fault"):
            if not 0 <= getattr(self, name) <= 100:
                raise ConfigError(f"plans.{name} must be a percentage (0-100), got {getattr(self, name)}")


@dataclass(frozen=True)
class UnitSettings:
    commune_name: str = setting("", "name read in the intro and outro of bulletins (e.g. 'Tân Lập')")


@dataclass(frozen=True)
class ControllerConfig:
    data_dir: Path = setting(Path("var/controller"), "where the database, keys and media store live")
    mqtt: MqttSettings = section(MqttSettings, "MQTT broker connection")
    http: HttpSettings = section(HttpSettings, "web UI, JSON API and media downloads")
    plans: PlanSettings = section(PlanSettings, "device plans and commands")
    unit: UnitSettings = section(UnitSettings, "the administrative unit this controller serves")
    audio: AudioSettings = section(AudioSettings, "speech synthesis and mastering")
    script: ScriptSettings = section(ScriptSettings, "broadcast script: intro, outro, repeat, abbreviations")
    broker: BrokerSettings = section(BrokerSettings, "the mosquitto configuration the controller generates: accounts, ACL, TLS")
    security: SecuritySettings = section(SecuritySettings, "device enrollment and media access")
    people: PeopleSettings = section(PeopleSettings, "sign-in, sessions and the approval rule")
    schedules: ScheduleSettings = section(ScheduleSettings, "guardrails every unit inherits unless it overrides them")
    retention: RetentionSettings = section(RetentionSettings, "how long logs, events and unused media are kept")
    fleet: FleetSettings = section(FleetSettings, "agent releases, staged rollouts and remote care")
    alerts: AlertSettings = section(AlertSettings, "official CAP warnings: countdowns, lifetimes, late windows")
    streaming: StreamingSettings = section(StreamingSettings, "live audio: the Icecast server and relay restreaming")
    map: MapSettings = section(MapSettings, "the map page: its tile source (none by default: the units' boundaries only)")
    notifications: NotificationSettings = section(NotificationSettings, "who is told what needs them: the bell, e-mail (SMTP) and a webhook")

    db_path = PathIn("data_dir", "loaxa.db")
    media_dir = PathIn("data_dir", "media")
    jobs_db_path = PathIn("data_dir", "jobs.db")
    releases_dir = PathIn("data_dir", "releases")
    key_path = PathIn("data_dir", "keys", "controller-ed25519.pem")

    @property
    def public_url(self) -> str:
        scheme = "https" if self.http.tls else "http"
        return (self.http.public_url or f"{scheme}://{self.http.host}:{self.http.port}").rstrip("/")


def load_for_command(path: str | None) -> ControllerConfig:
    """The controller's settings for a ``loaxa`` command run beside it; a bad file is shown to the user."""
    from loaxa.cli import load_settings

    return load_settings(ControllerConfig, path)
