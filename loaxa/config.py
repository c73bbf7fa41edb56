"""The one configuration loader: a TOML file, then ``LOAXA_*`` environment overrides.

Every setting is declared once, as a dataclass field with its default and help text
(see :func:`setting`).  The same loader serves the controller and the edge agent, so
an operator learns one convention: the TOML key ``[mqtt] port`` is overridden by the
environment variable ``LOAXA_MQTT_PORT``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar, overload

ENV_PREFIX = "LOAXA"

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration file or override that cannot be used, with the reason."""


def setting(default: Any, help: str) -> Any:
    """Declare a setting with its default and the help text shown in docs and errors."""
    if isinstance(default, (list, dict)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata={"help": help})
    return dataclasses.field(default=default, metadata={"help": help})


def section(cls: type, help: str) -> Any:
    """Declare a nested section of settings."""
    return dataclasses.field(default_factory=cls, metadata={"help": help})


class PathIn:
    """A file or directory at a fixed place below another path of a config, e.g. the database in ``data_dir``.

    Declared once on the config class (``db_path = PathIn("data_dir", "agent.db")``) instead of a
    property each, so a config's layout on disk reads as one list.  It is not a setting: the
    operator moves the whole tree by setting its base.
    """

    def __init__(self, base: str, *parts: str):
        self.base = base
        self.parts = parts

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> "PathIn": ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> Path: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> "Path | PathIn":
        if obj is None:
            return self
        return Path(getattr(obj, self.base)).joinpath(*self.parts)


def env_name(*parts: str) -> str:
    return "_".join((ENV_PREFIX, *parts)).upper()


def iter_settings(cls: type, prefix: tuple[str, ...] = ()) -> typing.Iterator[tuple[tuple[str, ...], dataclasses.Field, Any]]:
    """Yield (path, field, type) for every leaf setting of a config class."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            yield from iter_settings(tp, prefix + (f.name,))
        else:
            yield prefix + (f.name,), f, tp


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None or value == "":
            return None
        return _convert(value, args[0], where)
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return [_convert(v, item_tp, where) for v in value]
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}") from None
    if tp is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if tp is Path:
        if not isinstance(value, (str, Path)):
            raise ConfigError(f"{where}: expected a path, got {value!r}")
        return Path(value).expanduser()
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    return value


def _build(cls: type[T], data: Mapping[str, Any], env: Mapping[str, str], prefix: tuple[str, ...]) -> T:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        where = ".".join(prefix) or "top level"
        raise ConfigError(f"unknown setting(s) {sorted(unknown)} in [{where}]")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        path = prefix + (f.name,)
        if dataclasses.is_dataclass(tp):
            sub = data.get(f.name, {})
            if not isinstance(sub, Mapping):
                raise ConfigError(f"[{'.'.join(path)}] must be a table")
            kwargs[f.name] = _build(tp, sub, env, path)
            continue
        name = env_name(*path)
        if name in env:
            kwargs[f.name] = _convert(env[name], tp, name)
        elif f.name in data:
            kwargs[f.name] = _convert(data[f.name], tp, ".".join(path))
    return cls(**kwargs)


def load_config(cls: type[T], path: str | Path | None = None, env: Mapping[str, str] | None = None) -> T:
    """Load ``cls`` from an optional TOML file, then apply environment overrides."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {p}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    return _build(cls, data, env, ())


def to_toml(cfg: Any) -> str:
    """Render a config object as a commented TOML document (for examples and installs)."""
    lines: list[str] = []

    def fmt(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        if v is None:
            return '""'
        s = str(v).replace("\\", "\\\\").replace('"', '\\"')
        return f'"{s}"'

    def emit(obj: Any, prefix: tuple[str, ...]) -> None:
        subs = []
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if dataclasses.is_dataclass(v):
                subs.append((f, v))
                continue
            lines.append(f"# {f.metadata.get('help', '')} (env {env_name(*prefix, f.name)})")
            lines.append(f"{f.name} = {fmt(v)}")
        for f, v in subs:
            lines.append("")
            lines.append(f"[{'.'.join(prefix + (f.name,))}]")
            if f.metadata.get("help"):
                lines.append(f"# {f.metadata['help']}")
            emit(v, prefix + (f.name,))

    emit(cfg, ())
    return "\n".join(lines) + "\n"


@dataclasses.dataclass(frozen=True)
class MqttSettings:
    """How to reach the MQTT broker; shared by the controller and the agent."""

    host: str = setting("127.0.0.1", "broker host name or address")
    port: int = setting(1883, "broker TCP port")
    username: str = setting("", "broker user name (empty: anonymous, for a local demo only)")
    password: str = setting("", "broker password")
    tls_ca: str = setting("", "CA certificate file; when set, the connection uses TLS and verifies the broker")
    keepalive_s: int = setting(30, "MQTT keepalive in seconds; the broker declares a client gone after 1.5x this")
    reconnect_max_s: float = setting(30.0, "longest wait between two attempts to reach a lost broker (the wait starts at 1 s and doubles)")
