"""Development tools, not part of a production controller: a private mosquitto runner for the
demo and the test suite, and ``loaxa demo`` itself.

The names below are the package's public API.  They load on first use, so importing one
module of the package (a settings class, a command's ``register``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from controller.devtools.broker_runner import Broker, free_port, wait_for_port
    from controller.devtools.demo import run_demo

_EXPORTS = {
    "Broker": "broker_runner",
    "free_port": "broker_runner",
    "run_demo": "demo",
    "wait_for_port": "broker_runner",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
