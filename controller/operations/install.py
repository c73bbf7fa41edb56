"""What ``loaxa install controller`` sets up: the ``loaxa`` user, the broker and controller units, the config."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from controller.config import ControllerConfig
from loaxa.config import ConfigError, load_config
from loaxa.install import Role


def plaintext_warnings(config_path: Path) -> list[str]:
    """Loud warnings for an installed config that would carry device passwords in clear.

    The controller serves plain HTTP (waitress has no TLS): an https:// ``public_url`` means a
    TLS reverse proxy in front of it (docs/install.md).  ``loaxa broker config`` and
    ``loaxa device add`` refuse such a config later unless ``[broker] allow_plaintext``.
    """
    from controller.security.broker_config import plaintext_exposure

    try:
        config = load_config(ControllerConfig, config_path, env={})
    except ConfigError as exc:
        return [f"WARNING: {config_path} does not load: {exc}"]
    exposed = plaintext_exposure(config)
    if not config.public_url.startswith("https://") and not any(w.startswith("http.public_url") for w in exposed):
        exposed.append(f"http.public_url {config.public_url} is not https:// (devices cannot enroll from another "
                       "machine, and over plain HTTP their passwords would travel in clear)")
    if not exposed:
        return []
    return [f"WARNING: plaintext: {what}" for what in exposed] + [
        "WARNING: put a TLS reverse proxy in front of the controller and set [http] public_url = \"https://...\" "
        "(docs/install.md, 'Behind a reverse proxy'); until then 'loaxa broker config' and 'loaxa device add' refuse "
        "to run unless [broker] allow_plaintext = true"]


def _config(state_dir: Path) -> ControllerConfig:
    """An installed controller runs Icecast from its own generated files (relays, live speech)."""
    base = ControllerConfig()
    return replace(base, data_dir=state_dir, streaming=replace(base.streaming, enabled=True))


ROLE = Role("controller", "loaxa", ("loaxa-broker.service", "loaxa-controller.service"), "controller.toml",
            "/var/lib/loaxa", (), _config, warnings=plaintext_warnings)
