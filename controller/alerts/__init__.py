"""CAP 1.2 alert intake: hardened parsing, trust, areas to units, policy, Vietnamese script, repeats.

The modules here are pure (no database, no MQTT) so they can be tested alone and reused by
whatever service wires them to the controller.
"""
