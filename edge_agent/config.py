"""Configuration of an edge agent (see ``config/agent.example.toml``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loaxa.config import MqttSettings, PathIn, section, setting


@dataclass(frozen=True)
class PlayerSettings:
    backend: str = setting("alsa", "audio output: 'alsa' (aplay, a real sound card) or 'file' (a sink that records each play)")
    alsa_device: str = setting("default", "ALSA PCM device for aplay, e.g. 'default' or 'plughw:1,0'")
    sink_dir: Path = setting(Path("sink"), "file backend: where plays.jsonl and the played PCM go (relative to data_dir)")
    prepare_lead_s: float = setting(3.0, "seconds before a play to decode ahead and open the output")
    late_tolerance_s: float = setting(60.0, "a play may start this late (e.g. after a reboot); later than that it is skipped")
    sample_rate: int = setting(48000, "output sample rate in Hz")
    realtime_priority: int = setting(10, "SCHED_FIFO priority of the playback thread (1-99; 0: normal); needs LimitRTPRIO in the unit")


@dataclass(frozen=True)
class RelaySettings:
    pin: str = setting("", "GPIO pin of the amplifier relay, e.g. 'GPIO17' (empty: no relay)")
    active_high: bool = setting(True, "true if the relay closes when the pin is high")
    warmup_s: float = setting(2.0, "amplifier on this long before a programme starts")
    tail_s: float = setting(3.0, "amplifier stays on this long after the last item")
    pin_factory: str = setting("", "gpiozero pin factory; 'mock' simulates the pin (tests, demo)")


@dataclass(frozen=True)
class VolumeSettings:
    control: str = setting("", "ALSA mixer control for amixer, e.g. 'PCM' or 'Master' (empty: no mixer)")
    card: str = setting("", "ALSA card for amixer -c (empty: default card)")
    initial: int = setting(80, "volume in percent applied at start until the controller sets one")
    emergency_min: int = setting(80, "an emergency plays at least this loud (percent), whatever the pole's volume or the item's")


@dataclass(frozen=True)
class ClockSettings:
    ntp_server: str = setting("pool.ntp.org", "SNTP server asked for the clock offset when chrony is not running")
    ntp_port: int = setting(123, "UDP port of the SNTP server")
    check_interval_s: float = setting(300.0, "seconds between clock offset measurements")
    unsynced_threshold_ms: float = setting(100.0, "plays are flagged 'clock_unsynced' when |offset| exceeds this")
    use_chrony: bool = setting(True, "read the offset from 'chronyc tracking' when chrony runs")
    same_clock_as_controller: bool = setting(False, "the agent runs on the controller's own machine (the demo): its clock is the reference, offset 0, nothing is asked on the network")


@dataclass(frozen=True)
class CaptureSettings:
    backend: str = setting("", "proof of sound: '' (off), 'alsa' (arecord from a capture device) or 'file' (replay a recording; tests)")
    device: str = setting("", "ALSA capture device tapped from the amplifier output, e.g. 'plughw:1,0' (file backend: the audio file)")
    silent_threshold_dbfs: float = setting(-45.0, "a play whose captured RMS level is below this is flagged 'silent'")
    sample_rate: int = setting(16000, "capture sample rate in Hz")


@dataclass(frozen=True)
class UpdateSettings:
    install_root: Path = setting(Path("/opt/loaxa-agent"), "where releases/ and the 'current' symlink live (laid out by 'loaxa install agent'); updates are refused when it is not such an installation")
    health_timeout_s: float = setting(180.0, "a new version must be connected, have its plan and decode the test tone within this many seconds, or it is rolled back")
    quiet_before_item_min: float = setting(10.0, "no update starts within this many minutes of a planned item (nor during a play)")
    max_starts: int = setting(3, "a new version that starts this many times without becoming healthy is rolled back")
    download_timeout_s: float = setting(60.0, "seconds without progress before a release download is abandoned")


@dataclass(frozen=True)
class AgentConfig:
    device_id: str = setting("", "this device's id, as registered on the controller")
    data_dir: Path = setting(Path("/var/lib/loaxa-agent"), "local state: plan, media cache, outbox")
    controller_url: str = setting("http://127.0.0.1:8080", "controller base URL for media downloads")
    controller_ca: str = setting(
        "", "CA certificate file verifying an https:// controller_url (written by 'loaxa agent enroll'); "
            "empty: the broker's CA ([mqtt] tls_ca, issued by the same deployment CA), else the system's")
    controller_public_key: str = setting("", "the controller's Ed25519 public key (base64), pinned at enrollment")
    enrolled_at: str = setting("", "when this device was enrolled (written by 'loaxa agent enroll'); plans issued before it are refused")
    release_public_key: str = setting("", "the release key (base64) agent updates must be signed with, pinned at enrollment (empty: no updates)")
    state_interval_s: float = setting(30.0, "seconds between state (heartbeat) messages")
    events_resend_s: float = setting(10.0, "events the controller has not acknowledged this long after sending are sent again")
    plays_days: float = setting(7.0, "days the record of finished plays is kept (it stops a plan item playing twice; at least 2)")
    mqtt: MqttSettings = section(MqttSettings, "MQTT broker connection")
    player: PlayerSettings = section(PlayerSettings, "audio output")
    relay: RelaySettings = section(RelaySettings, "amplifier relay")
    volume: VolumeSettings = section(VolumeSettings, "volume control")
    clock: ClockSettings = section(ClockSettings, "clock offset measurement")
    capture: CaptureSettings = section(CaptureSettings, "proof that sound came out (optional)")
    update: UpdateSettings = section(UpdateSettings, "signed agent updates")

    db_path = PathIn("data_dir", "agent.db")
    device_key_path = PathIn("data_dir", "keys", "device-ed25519.pem")
    heads_copy_path = PathIn("data_dir", "chain-heads.json")
    cache_dir = PathIn("data_dir", "media")

    @property
    def sink_dir(self) -> Path:
        return self.player.sink_dir if self.player.sink_dir.is_absolute() else self.data_dir / self.player.sink_dir
