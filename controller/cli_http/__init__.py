"""The command line that talks to a running controller over its HTTP API (``loaxa bulletin``,
``loaxa logs``, ``loaxa schedule`` ...), and its small JSON client.

The names below are the package's public API.  They load on first use, so importing one
module of the package (a settings class, a command's ``register``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from controller.cli_http.client import ApiClient, ApiError

_EXPORTS = {
    "ApiClient": "client",
    "ApiError": "client",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
