"""One loader: TOML file, then LOAXA_* environment overrides, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.config import ControllerConfig
from edge_agent.config import AgentConfig
from loaxa.config import ConfigError, iter_settings, load_config, to_toml

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_work_out_of_the_box():
    cfg = load_config(ControllerConfig, env={})
    assert cfg.http.port == 8080 and cfg.mqtt.port == 1883
    assert cfg.http.tls and cfg.public_url == "https://127.0.0.1:8080"
    plain = load_config(ControllerConfig, env={"LOAXA_HTTP_TLS": "false"})
    assert plain.public_url == "http://127.0.0.1:8080"


def test_toml_then_environment(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('data_dir = "/srv/loaxa"\n[mqtt]\nport = 1884\nhost = "broker"\n[http]\npublic_url = "https://x"\n')
    cfg = load_config(ControllerConfig, f, env={"LOAXA_MQTT_PORT": "1999", "LOAXA_HTTP_PUBLIC_URL": "https://y"})
    assert cfg.data_dir == Path("/srv/loaxa")
    assert cfg.mqtt.host == "broker" and cfg.mqtt.port == 1999
    assert cfg.public_url == "https://y"


@pytest.mark.parametrize("text, env, match", [
    ("[mqtt]\nport = 'abc'\n", {}, "whole number"),
    ("[mqtt]\nprot = 1\n", {}, "unknown setting"),
    ("mqtt = 3\n", {}, "must be a table"),
    ("[mqtt\n", {}, "not valid TOML"),
    ("", {"LOAXA_RELAY_ACTIVE_HIGH": "maybe"}, "true or false"),
])
def test_bad_config_is_explained(tmp_path, text, env, match):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    cls = AgentConfig if "RELAY" in str(env) else ControllerConfig
    with pytest.raises(ConfigError, match=match):
        load_config(cls, f, env=env)


def test_missing_file_is_explained():
    with pytest.raises(ConfigError, match="not found"):
        load_config(AgentConfig, "/nonexistent.toml", env={})


@pytest.mark.parametrize("cls", [ControllerConfig, AgentConfig])
def test_every_setting_has_help_and_a_unique_env_name(cls):
    names = []
    for path, f, _tp in iter_settings(cls):
        assert f.metadata.get("help"), path
        names.append("_".join(path).upper())
    assert len(names) == len(set(names))


@pytest.mark.parametrize("cls, example", [(ControllerConfig, "controller.example.toml"), (AgentConfig, "agent.example.toml")])
def test_example_configs_load_and_document_every_setting(cls, example):
    path = ROOT / "config" / example
    load_config(cls, path, env={})
    text = path.read_text()
    for p, _f, _tp in iter_settings(cls):
        assert f"{p[-1]} =" in text, f"{example} does not document {'.'.join(p)}"
    assert text.endswith(to_toml(cls())), f"{example} is out of date: run .venv/bin/python scripts/write_example_configs.py"
