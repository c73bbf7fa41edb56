"""Helpers of the controller scheduling tests: seeding, scheduling with approval, times relative to now."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from controller.cli_http.client import ApiClient
from support.tree import seed_commune
from loaxa.wire_time import format_time, utcnow
from loaxa.local_time import to_local

SHORT_TEXT = "Thông báo ngắn."
APPROVER = "chu-tich"


def setup(ctl: Any, devices: dict[str, str]) -> tuple[ApiClient, str]:
    """Seed one commune with the devices; return the administrator's API client and the public key.

    The administrator drafts; a second person, ``APPROVER``, approves (see :func:`approve`).
    """
    api = ctl.api
    seed_commune(api, devices)
    api.approver = ctl.user_api(APPROVER)  # type: ignore[attr-defined]
    return api, api.get("/api/pubkey")["public_key"]


def bulletin(api: ApiClient, text: str = SHORT_TEXT, title: str = "") -> dict[str, Any]:
    return api.post("/api/bulletins", {"title": title, "text": text})


def approve(api: ApiClient, bc: dict[str, Any]) -> dict[str, Any]:
    """Approve as the second person created by :func:`setup` (nobody approves their own broadcast)."""
    return api.approver.post(f"/api/broadcasts/{bc['id']}/approve", {"comment": "Đồng ý phát"})  # type: ignore[attr-defined]


def schedule(api: ApiClient, bulletin_id: str, at: datetime | None = None, targets: list[str] | None = None,
             approved: bool = True, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"bulletin_id": bulletin_id, "targets": targets or ["xa"], **extra}
    if at is not None:
        data["starts_at"] = format_time(at)
    bc = api.post("/api/broadcasts", data)
    return approve(api, bc) if approved else bc


def daily_rule(first: datetime, days: int, extra_slots: tuple[str, ...] = ()) -> dict[str, Any]:
    """A daily rule whose first airing is exactly ``first`` (slot minute plus an offset in seconds)."""
    local = to_local(first)
    slot = local.replace(second=0, microsecond=0)
    end = (slot + timedelta(days=days - 1)).date()
    return {"start_date": slot.date().isoformat(), "end_date": end.isoformat(),
            "slot_times": [f"{slot:%H:%M}", *extra_slots], "offset_s": (local - slot).total_seconds()}


def same_local_day(start: datetime, span: timedelta) -> datetime:
    """``start``, or later, such that ``start`` and ``start + span`` fall on one local day."""
    while to_local(start).date() != to_local(start + span).date():
        start += timedelta(minutes=30)
    return start


def soon(seconds: float) -> datetime:
    """An instant ``seconds`` from now, to the millisecond (the wire's precision)."""
    t = utcnow() + timedelta(seconds=seconds)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def request_raw(api: ApiClient, method: str, path: str, data: Any = None) -> tuple[int, Any]:
    """Status and JSON body of a request, errors included (to check the error document itself)."""
    import json
    import urllib.error
    import urllib.request

    body = None if data is None else json.dumps(data).encode("utf-8")
    req = urllib.request.Request(api.base_url + path, data=body, method=method,
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    if api.token:
        req.add_header("Authorization", f"Bearer {api.token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def agent_plan(agent: Any, public_key: str) -> Any:
    """The plan the agent stored, verified against the controller's key (what it will play from)."""
    import sqlite3

    from loaxa.protocol import Plan, Verifier, public_key_from_text

    try:
        with agent.db() as conn:
            row = conn.execute("SELECT payload FROM plan WHERE id = 1").fetchone()
    except sqlite3.OperationalError:
        return None
    return Verifier([public_key_from_text(public_key)]).open(bytes(row[0]), Plan) if row else None


def plays_of(agent: Any, broadcast_id: str) -> list[dict[str, Any]]:
    return [p for p in agent.plays() if p.get("broadcast_id") == broadcast_id]
