"""Settings of sign-in, sessions and the approval rule (the ``[people]`` section)."""

from __future__ import annotations

from dataclasses import dataclass

from loaxa.config import setting


@dataclass(frozen=True)
class PeopleSettings:
    two_person_rule: bool = setting(
        True, "the person who drafted a broadcast cannot approve it (turn off only for a one-person commune)")
    cookie_secure: str = setting(
        "auto", "send the session cookie only over HTTPS: auto (when http.public_url is https, or the request "
                "came over HTTPS), always, or never")
    session_hours: float = setting(12.0, "how long a sign-in lasts before the password is asked again")
    max_failures_per_user: int = setting(
        5, "failed sign-ins allowed per user name from one client address within throttle_window_s")
    max_failures_per_ip: int = setting(20, "failed sign-ins allowed per client address within throttle_window_s")
    slowdown_after_failures: int = setting(
        10, "failed sign-ins for one user name, from any address, after which each attempt for it waits "
            "(1 s, doubling) instead of being refused")
    slowdown_max_s: float = setting(8.0, "the longest such wait, in seconds")
    throttle_window_s: int = setting(900, "the window, in seconds, over which failed sign-ins are counted")
    min_password_length: int = setting(10, "shortest password accepted for a new user or a changed password")
