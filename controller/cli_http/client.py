"""A small JSON client for the controller's HTTP API, used by the CLI and the demo."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any


class ApiError(RuntimeError):
    def __init__(self, status: int, message: str, code: str = ""):
        super().__init__(message)
        self.status = status
        self.code = code


class ApiClient:
    def __init__(self, base_url: str, timeout: float = 120.0, token: str = "", cafile: str | None = None):
        """``cafile``: the deployment's CA (``tls/ca.crt``) an https:// controller's certificate is verified against."""
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.token = token
        self.context = ssl.create_default_context(cafile=cafile or None) if self.base_url.startswith("https:") else None

    def request(self, method: str, path: str, data: Any = None) -> Any:
        body = None if data is None else json.dumps(data).encode("utf-8")
        req = urllib.request.Request(self.base_url + path, data=body, method=method)
        req.add_header("Accept", "application/json")
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self.context) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                err = json.loads(exc.read())
                raise ApiError(exc.code, err.get("error", str(exc)), err.get("code", "")) from None
            except (ValueError, AttributeError):
                raise ApiError(exc.code, str(exc)) from None
        except urllib.error.URLError as exc:
            raise ApiError(0, f"cannot reach the controller at {self.base_url}: {exc.reason}") from None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, data: Any) -> Any:
        return self.request("POST", path, data)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)
