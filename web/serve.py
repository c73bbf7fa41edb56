"""Runs the controller process: service, jobs, MQTT and the HTTPS (or, for the demo, plain HTTP) server."""

from __future__ import annotations

import logging
import signal
import ssl
import threading
from pathlib import Path
from typing import Protocol

from flask import Flask
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from controller.config import ControllerConfig, HttpSettings
from controller.heap import freeze_startup_heap
from controller.security.broker_config import PlaintextRefused, is_loopback
from controller.security.https_cert import ensure_https_files
from controller.service import Controller
from web.app import create_app

log = logging.getLogger(__name__)


class WebServer(Protocol):
    def run(self) -> None: ...

    def close(self) -> None: ...


def http_server(app: Flask, http: HttpSettings) -> BaseWSGIServer | MultiSocketServer:
    """The plain-HTTP waitress server (the demo on loopback, or a TLS proxy in front).

    Waitress drops X-Forwarded-* headers by default; behind trusted proxies it passes them on,
    and the app believes only the last ``trusted_proxies`` hops of them (see ``create_app``).
    """
    return create_server(app, host=http.host, port=http.port, threads=http.threads, ident="loaxa",
                         clear_untrusted_proxy_headers=not http.trusted_proxies)


class HttpsServer:
    """Cheroot serving the app over TLS: waitress has no TLS, and device passwords must not travel in clear.

    Cheroot passes X-Forwarded-* headers through; the app believes them only with
    ``trusted_proxies`` (``create_app``), so nothing changes for a direct client.
    """

    def __init__(self, app: Flask, http: HttpSettings, cert: Path, key: Path):
        from cheroot import wsgi
        from cheroot.ssl.builtin import BuiltinSSLAdapter

        self.server = wsgi.Server((http.host, http.port), app, numthreads=http.threads, server_name="loaxa")
        adapter = BuiltinSSLAdapter(str(cert), str(key))
        adapter.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.server.ssl_adapter = adapter

    def run(self) -> None:
        self.server.safe_start()

    def close(self) -> None:
        """Safe from a signal handler: the server stops from another thread while ``run`` returns."""
        threading.Thread(target=self.server.stop, name="https-stop", daemon=True).start()


def web_server(app: Flask, config: ControllerConfig) -> WebServer:
    """HTTPS with the deployment's certificate; plain HTTP only where ``check_plaintext`` lets it (loudly)."""
    if config.http.tls:
        files = ensure_https_files(config)
        return HttpsServer(app, config.http, files.cert, files.key)
    plain_http_allowed(config)
    log.warning("[http] tls = false: serving plain HTTP on %s:%d", config.http.host, config.http.port)
    return http_server(app, config.http)


def plain_http_allowed(config: ControllerConfig) -> None:
    """Refuse a plain-HTTP listener beyond loopback unless ``[broker] allow_plaintext``; then log it loudly."""
    if config.http.tls or is_loopback(config.http.host):
        return
    what = f"plain HTTP on {config.http.host or 'every interface'}:{config.http.port} ([http] tls = false)"
    if not config.broker.allow_plaintext:
        raise PlaintextRefused(f"refusing {what}: logins, enrollment answers and device passwords would travel in "
                               "clear. Set [http] tls = true, or [broker] allow_plaintext = true to accept the risk")
    log.error("PLAINTEXT: %s; anyone on the path can read it", what)


def serve(config: ControllerConfig) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly."""
    try:
        plain_http_allowed(config)
    except PlaintextRefused as exc:
        raise SystemExit(f"loaxa controller: {exc}") from None
    controller = Controller(config)
    app = create_app(controller)
    server = web_server(app, config)
    stopping = threading.Event()

    def stop(signum, frame) -> None:
        if not stopping.is_set():
            stopping.set()
            log.info("stopping controller")
            server.close()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    controller.start()
    freeze_startup_heap(controller.db)  # a province report's allocations no longer walk the start-up heap
    log.info("web UI and API on %s://%s:%d", "https" if config.http.tls else "http", config.http.host, config.http.port)
    try:
        server.run()
    except (OSError, ValueError):
        if not stopping.is_set():
            raise
    finally:
        controller.stop()
