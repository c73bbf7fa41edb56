"""Runs the controller process: service, jobs, MQTT and the waitress HTTP server."""

from __future__ import annotations

import logging
import signal
import threading

from flask import Flask
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from controller.config import ControllerConfig, HttpSettings
from controller.service import Controller
from web.app import create_app

log = logging.getLogger(__name__)


def http_server(app: Flask, http: HttpSettings) -> BaseWSGIServer | MultiSocketServer:
    """The waitress server of the web UI, API and media.

    Waitress drops X-Forwarded-* headers by default; behind trusted proxies it passes them on,
    and the app believes only the last ``trusted_proxies`` hops of them (see ``create_app``).
    """
    return create_server(app, host=http.host, port=http.port, threads=http.threads, ident="loaxa",
                         clear_untrusted_proxy_headers=not http.trusted_proxies)


def serve(config: ControllerConfig) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly."""
    controller = Controller(config)
    app = create_app(controller)
    server = http_server(app, config.http)
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
