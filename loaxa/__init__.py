"""Loa Xã: shared core (configuration, wire protocol, command line)."""

__version__ = "0.1.0"
