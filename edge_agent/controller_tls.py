"""How the agent verifies an https:// controller: against the deployment's CA it pinned at enrollment.

The controller's HTTPS certificate and the broker's come from one CA, so a pole enrolled
with the broker's CA (``[mqtt] tls_ca``) verifies the controller with that same file.
"""

from __future__ import annotations

import ssl

from edge_agent.config import AgentConfig


def controller_ca_file(config: AgentConfig) -> str | None:
    return config.controller_ca or config.mqtt.tls_ca or None


def controller_context(config: AgentConfig) -> ssl.SSLContext | None:
    """The TLS context for every request to the controller (None for plain http://)."""
    if not config.controller_url.lower().startswith("https:"):
        return None
    context = ssl.create_default_context(cafile=controller_ca_file(config))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
