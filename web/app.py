"""The web UI and JSON API of the controller (Flask)."""

from __future__ import annotations

from typing import Any, Mapping

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from controller.errors import loads_request_json
from controller.service import Controller


class _BoundedJSON(DefaultJSONProvider):
    """Request bodies are parsed by the controller's bounded parser (depth, finite numbers)."""

    ensure_ascii = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads_request_json(s)


def create_app(controller: Controller, overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app around a constructed controller; ``overrides`` go into ``app.config``."""
    app = Flask(__name__)
    app.config.update(JSON_AS_ASCII=False, MAX_CONTENT_LENGTH=64 * 1024 * 1024)
    app.json = _BoundedJSON(app)
    if overrides:
        app.config.update(overrides)
    app.extensions["loaxa"] = controller
    proxies = controller.config.http.trusted_proxies
    if proxies:  # the client's address and scheme come from the proxies' headers, the last `proxies` hops only
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0)  # type: ignore[method-assign]

    from controller.devices import media_http
    from controller.fleet import release_http
    from web import (api, api_fleet, api_people, api_security, auth, metrics_http, ui_admin,
                     ui_approvals, ui_audit, ui_auth, ui_base, ui_calendar, ui_compose, ui_dashboard, ui_devices,
                     ui_emergency, ui_media, ui_dictionary, ui_alerts, ui_fleet, ui_worklists, ui_guardrails, ui_live,
                     ui_relays, ui_notifications, ui_map, api_alerts, api_compose, api_dictionary, api_streams,
                     api_approvals, api_audit, api_calendar, api_dashboard, api_live, api_notifications, api_map,
                     api_heads)

    auth.init_app(app)
    for api_module in (api, api_people, api_security, api_fleet, api_alerts, api_streams, api_live):
        api_module.init_app(app)  # each registers its blueprint (the JSON API's error handlers come with ``api``)
    for json_only in (api_approvals, api_audit, api_calendar, api_compose, api_dashboard, api_dictionary,
                      api_notifications, api_map, api_heads):
        app.register_blueprint(json_only.bp)
    app.register_blueprint(media_http.bp)
    app.register_blueprint(release_http.bp)
    app.register_blueprint(metrics_http.bp)
    ui_base.init_app(app)  # what every page shares: template filters, error pages
    for page in (ui_auth, ui_dashboard, ui_compose, ui_approvals, ui_emergency, ui_calendar, ui_devices, ui_audit,
                 ui_admin, ui_media, ui_dictionary, ui_alerts, ui_fleet, ui_worklists, ui_guardrails, ui_live, ui_relays,
                 ui_notifications, ui_map):
        app.register_blueprint(page.bp)
    return app
