"""Settings of device security: the broker the controller configures, enrollment, media access.

Two sections of the controller's configuration, declared here so the security code
reads its own settings in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from loaxa.config import setting


@dataclass(frozen=True)
class BrokerSettings:
    config_dir: str = setting("", "where 'loaxa broker config' writes mosquitto.conf, the password file, the ACL and TLS files (default: <data_dir>/broker)")
    bind_address: str = setting("", "address the TLS device listener of the generated mosquitto config binds to (empty: every interface)")
    port: int = setting(1883, "plain MQTT listener of the generated broker config, for the controller and commands on this machine (0: none)")
    plain_bind_address: str = setting("127.0.0.1", "address the plain listener binds to; anything but loopback is refused unless allow_plaintext")
    tls_port: int = setting(8883, "TLS listener devices use (0: none, devices are told the plain port: a loopback demo only)")
    allow_plaintext: bool = setting(False, "accept a plain listener, or an http:// public_url, reachable from other machines (loudly warned)")
    device_host: str = setting("", "broker host name devices are told at enrollment (default: the host of http.public_url)")
    cert_hosts: list[str] = setting([], "extra host names or IP addresses written into the broker's TLS certificate")
    pid_file: str = setting("", "file holding mosquitto's pid; the controller sends it SIGHUP after credentials change")
    reload_command: str = setting("", "command run instead of the SIGHUP after credentials change, e.g. 'systemctl reload mosquitto'")
    controller_username: str = setting("loaxa-controller", "the controller's own broker account in the generated config")
    operator_username: str = setting("loaxa-cli", "the broker account of operator commands (emergency-stop, keys rotate) in the generated config")
    run_as: str = setting("mosquitto", "the user mosquitto drops to when started as root; the generated files are made readable to its group")
    bridge_host: str = setting("", "host name commune brokers' bridges dial for the province broker (default: device_host); its TLS port is tls_port")
    commune_install_dir: str = setting("", "where each commune broker's generated directory is installed on its machine, as <dir>/<id> (default: where it is written)")
    commune_bind_address: str = setting("", "address the device listener of each commune broker binds to (empty: every interface)")
    hash_iterations: int = setting(1000, "PBKDF2-SHA512 iterations of broker password hashes (mosquitto's $7$ format)")


@dataclass(frozen=True)
class SecuritySettings:
    enroll_code_ttl_min: int = setting(60, "minutes a one-time enrollment code stays valid")
    enroll_attempts_per_min: int = setting(10, "enrollment attempts accepted per client address per minute")
    media_requires_auth: bool = setting(True, "media downloads need a device's broker user name and password (HTTP Basic)")
    flap_reconnects: int = setting(5, "a device reconnecting this many times within flap_window_s is flagged as flapping (audited, counted)")
    flap_window_s: int = setting(120, "the window of flap_reconnects; a flapping device is cleared after staying connected this long")
    require_device_signatures: bool = setting(True, "playback events must be signed by the device's own key (made at enrollment); off only for an anonymous test broker, whose agents were never enrolled")
