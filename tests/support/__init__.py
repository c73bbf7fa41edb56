"""What the tests stand on: real processes, rigs and builders, in one place.

- ``harness``: broker, controller and agent processes on free ports; ``wait_for``, ``Listener``.
- ``tree``: the one administrative tree the tests seed (through the API or the registry).
- ``world``: an in-process controller and Flask app with one user per role.
- ``web_commune`` and ``browser``: the commune and the headless Chromium of the browser tests.
- ``schedule_api``: scheduling through the HTTP API, with a second person approving.
- ``schedule_builders``: the scheduling domain's tree and terse broadcasts.
- ``secure_rig``: a controller with a real, secured mosquitto.
- ``agent_rig``: clips, sealed plans and a media server for the agent tests.
- ``cap_docs``, ``cap_signing``, ``cap_feed_server``: CAP 1.2 documents for the made-up province Sơn Hà,
  certificates and XML signatures, and a CAP feed server on loopback.
- ``notify_sinks``: a real SMTP server and a webhook server on loopback, where notifications land.
- ``google_stand_in`` and ``loudness``: Google's TTS endpoint played locally, and loudness checks.
- ``wire_vectors``: one message of every wire type from fixed values and a fixed key (tests/data/wire).
"""
