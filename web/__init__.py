"""The web UI and JSON API of the controller (Flask); the app is built by ``web.app.create_app``."""
