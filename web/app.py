"""The web UI and JSON API of the controller (Flask)."""

from __future__ import annotations

from typing import Any, Mapping

from flask import Flask

from controller.service import Controller


def create_app(controller: Controller, overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app around a constructed controller; ``overrides`` go into ``app.config``."""
    app = Flask(__name__)
    app.config.update(JSON_AS_ASCII=False, MAX_CONTENT_LENGTH=64 * 1024 * 1024)
    app.json.ensure_ascii = False
    if overrides:
        app.config.update(overrides)
    app.extensions["loaxa"] = controller
    proxies = controller.config.http.trusted_proxies
    if proxies:  # the client's address and scheme come from the proxies' headers, the last `proxies` hops only
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0)  # type: ignore[method-assign]

    from controller.devices import media_http
    from web import api, api_schedule, api_people, auth, metrics_http

    auth.init_app(app)
    api.init_app(app)
    api_schedule.init_app(app)
    api_people.init_app(app)
    from web import api_security

    api_security.init_app(app)
    from web import api_fleet

    api_fleet.init_app(app)
    from web import api_streams

    api_streams.init_app(app)
    app.register_blueprint(media_http.bp)
    from controller.fleet import release_http

    app.register_blueprint(release_http.bp)
    app.register_blueprint(metrics_http.bp)
    from web import ui_base

    ui_base.init_app(app)
    return app
