"""Runs the controller process: service, jobs, MQTT and the waitress HTTP server."""

from __future__ import annotations

import logging
import signal
import threading

from waitress.server import create_server

from controller.config import ControllerConfig
from controller.service import Controller
from web.app import create_app

log = logging.getLogger(__name__)


def serve(config: ControllerConfig) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly."""
    controller = Controller(config)
    app = create_app(controller)
    server = create_server(app, host=config.http.host, port=config.http.port, threads=config.http.threads,
                           ident="loaxa")
    stopping = threading.Event()

    def stop(signum, frame) -> None:
        if not stopping.is_set():
            stopping.set()
            log.info("stopping controller")
            server.close()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    controller.start()
    log.info("web UI and API on http://%s:%d", config.http.host, config.http.port)
    try:
        server.run()
    except (OSError, ValueError):
        if not stopping.is_set():
            raise
    finally:
        controller.stop()
