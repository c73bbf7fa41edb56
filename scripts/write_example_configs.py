"""Regenerate config/*.example.toml from the settings declared in code (run after adding a setting)."""

from pathlib import Path

from controller.config import ControllerConfig
from edge_agent.config import AgentConfig
from loaxa.config import to_toml

ROOT = Path(__file__).resolve().parent.parent
HEADERS = {
    "controller": "# Loa Xã controller configuration. Every setting is shown with its default;\n"
                  "# each can also be set by the environment variable named beside it.\n"
                  "# Run: loaxa controller --config /etc/loaxa/controller.toml\n\n",
    "agent": "# Loa Xã edge agent configuration (one speaker cluster). Every setting is shown with\n"
             "# its default; each can also be set by the environment variable named beside it.\n"
             "# Run: loaxa agent --config /etc/loaxa/agent.toml\n\n",
}


def main() -> None:
    for name, cls in (("controller", ControllerConfig), ("agent", AgentConfig)):
        (ROOT / "config" / f"{name}.example.toml").write_text(HEADERS[name] + to_toml(cls()))


if __name__ == "__main__":
    main()
