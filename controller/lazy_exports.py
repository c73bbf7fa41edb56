"""One lazy loader for the sub-packages' public names.

Each sub-package's ``__init__`` names its API without importing its modules, so importing one
module of a package (a settings class, a command's ``register``) stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable, Mapping


def lazy_getattr(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` loading ``name`` from ``package.<exports[name]>`` on first use."""

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{exports[name]}"), name)

    return __getattr__
