"""People who use the controller: accounts, passwords, API tokens, roles and their scope.

Passwords are hashed with scrypt (stdlib ``hashlib.scrypt``), N=2^15, r=8, p=1, a 16-byte
random salt per user and a 32-byte key: about 32 MiB and a few tens of milliseconds per
check on a small PC, which makes offline guessing costly without a second dependency.
The parameters are stored with each hash, so they can be raised later without locking
anyone out.  API tokens are random 256-bit strings; only their SHA-256 is stored.

A role holds in one node of the administrative tree and everything below it (its scope).
``unit_id`` None means the whole tree (the installation's first administrator).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Iterable

from controller.db import Database
from controller.errors import Conflict, InputError, NotFound
from controller.people.settings import PeopleSettings
from loaxa.wire_time import format_time, utcnow

ROLES = ("admin", "approver", "editor", "auditor")
WHOLE_TREE = "*"

# What each role may do, within its scope.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "audit": frozenset({"admin", "approver", "auditor"}),
    "draft": frozenset({"admin", "approver", "editor"}),
    "approve": frozenset({"admin", "approver"}),
    "emergency": frozenset({"admin", "approver"}),
    "kill_switch": frozenset({"admin", "approver"}),
    "live": frozenset({"admin", "approver"}),  # speak live from the browser on the speakers of their area
    "manage": frozenset({"admin"}),
}

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2**15, 8, 1, 32
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
TOKEN_PREFIX = "lx_"
KEEP: Any = object()  # "leave as it is", where None has a meaning of its own


class AuthError(Exception):
    """A refused sign-in or token; ``retry_after`` is set when attempts are throttled."""

    def __init__(self, code: str, message: str, retry_after: int = 0):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    unit_id: str | None
    session_epoch: int = 0

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS.get(permission, frozenset())

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "display_name": self.display_name, "role": self.role,
                "unit_id": self.unit_id if self.unit_id is not None else WHOLE_TREE}


# -- passwords ---------------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                         maxmem=128 * SCRYPT_N * SCRYPT_R * 2, dklen=SCRYPT_LEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, key = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(key)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=128 * int(n) * int(r) * 2, dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


@functools.cache
def _dummy_hash() -> str:
    """Checked against for unknown user names, so they take as long as known ones."""
    return hash_password(secrets.token_hex(16))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


# -- throttling --------------------------------------------------------------------------
class LoginThrottle:
    """Counts failed sign-ins over a sliding window: per (user name, address) pair, per address, per name.

    A pair or an address past its limit is refused for a while (429).  A user name is never
    locked out by failures from addresses other than the caller's, since anyone can make
    those; past ``slowdown_after_failures`` for the name from anywhere, every attempt for it
    waits instead (doubling up to ``slowdown_max_s``), the right password included, which
    slows a guesser spread over many addresses while the official still gets in.

    Kept in memory: a restart forgets it, which costs an attacker a restart they cannot cause.
    """

    MAX_KEYS = 50_000  # beyond this, keys with no recent failure are dropped

    def __init__(self, settings: PeopleSettings, clock=time.monotonic, sleep=time.sleep):
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self._failures: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, ...], now: float) -> deque[float]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - self.settings.throttle_window_s:
            q.popleft()
        return q

    def retry_after(self, username: str, ip: str) -> int:
        """Seconds until another attempt from ``ip`` for ``username`` is allowed; 0 if allowed now."""
        now = self.clock()
        waits = []
        with self._lock:
            for key, limit in ((("pair", username, ip), self.settings.max_failures_per_user),
                               (("ip", ip), self.settings.max_failures_per_ip)):
                q = self._recent(key, now)
                if len(q) >= limit:
                    waits.append(q[0] + self.settings.throttle_window_s - now)
        return max(1, int(max(waits)) + 1) if waits else 0

    def delay(self, username: str) -> float:
        """Seconds an attempt for ``username`` waits before its password is checked (0 below the bound)."""
        with self._lock:
            excess = len(self._recent(("user", username), self.clock())) - self.settings.slowdown_after_failures
        if excess < 0:
            return 0.0
        return min(self.settings.slowdown_max_s, 2.0 ** min(excess, 16))

    def failed(self, username: str, ip: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) > self.MAX_KEYS:
                for key in [k for k in self._failures if not self._recent(k, now)]:
                    del self._failures[key]
            for key in (("pair", username, ip), ("ip", ip), ("user", username)):
                self._recent(key, now).append(now)

    def succeeded(self, username: str, ip: str) -> None:
        with self._lock:
            self._failures.pop(("pair", username, ip), None)


# -- scope -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scope:
    """The units and devices one user may see and target; ``units`` None means everything."""

    units: frozenset[str] | None
    devices: frozenset[str] | None

    @property
    def whole_tree(self) -> bool:
        return self.units is None

    def has_unit(self, unit_id: Any) -> bool:
        return self.units is None or (isinstance(unit_id, str) and unit_id in self.units)

    def has_device(self, device_id: Any) -> bool:
        return self.devices is None or (isinstance(device_id, str) and device_id in self.devices)

    def has_target(self, target: Any) -> bool:
        return self.has_unit(target) or self.has_device(target)

    def covers(self, device_ids: Iterable[str]) -> bool:
        return self.devices is None or all(d in self.devices for d in device_ids)


def scope_of(db: Database, unit_id: str | None) -> Scope:
    if unit_id is None:
        return Scope(None, None)
    with db.tx() as conn:
        units = frozenset(r[0] for r in conn.execute(
            """WITH RECURSIVE down(id) AS (
                   SELECT id FROM units WHERE id = ?
                   UNION SELECT u.id FROM units u JOIN down ON u.parent_id = down.id)
               SELECT id FROM down""", [unit_id]))
        devices = frozenset(r[0] for r in conn.execute(
            f"SELECT id FROM devices WHERE unit_id IN ({', '.join('?' * len(units))})", list(units))) if units else frozenset()
    return Scope(units, devices)


# -- validation shared by add and update ---------------------------------------------------
def _valid_role(role: Any) -> str:
    if role not in ROLES:
        raise InputError("invalid_role", f"Vai trò phải là một trong: {', '.join(ROLES)}.", "role")
    return role


def _valid_unit_id(unit_id: Any) -> str | None:
    if unit_id == WHOLE_TREE or unit_id is None:
        return None
    if not isinstance(unit_id, str):
        raise InputError("invalid_unit", "Đơn vị không hợp lệ.", "unit_id")
    return unit_id


def _valid_display_name(display_name: Any) -> str:
    if not isinstance(display_name, str) or len(display_name) > 200:
        raise InputError("invalid_display_name", "Họ tên không hợp lệ.", "display_name")
    return display_name.strip()


def _require_unit_exists(db: Any, unit_id: str | None) -> None:
    if unit_id is not None and not db["units"].count_where("id = ?", [unit_id]):
        raise InputError("unknown_unit", f"Không có đơn vị '{unit_id}'.", "unit_id")


def _whole_tree_manager(role: str, unit_id: str | None) -> bool:
    return unit_id is None and role in PERMISSIONS["manage"]


# -- accounts ----------------------------------------------------------------------------
class Users:
    def __init__(self, db: Database, settings: PeopleSettings):
        self.db = db
        self.settings = settings
        self.throttle = LoginThrottle(settings)

    def check_password_rules(self, username: str, password: Any) -> str:
        if not isinstance(password, str) or len(password) < self.settings.min_password_length:
            raise InputError("weak_password", f"Mật khẩu phải có ít nhất {self.settings.min_password_length} ký tự.",
                             "password")
        if len(password) > 1024:
            raise InputError("password_too_long", "Mật khẩu dài quá 1024 ký tự.", "password")
        if password.strip().lower() == username.lower():
            raise InputError("weak_password", "Mật khẩu không được trùng tên đăng nhập.", "password")
        return password

    def add(self, username: Any, password: Any, role: Any, unit_id: Any, display_name: Any = "") -> User:
        """Create an account; ``unit_id`` is a unit id, or None / ``*`` for the whole tree.

        A disabled account keeps its name: the audit trail refers to people by name, so a
        new person under an old name would inherit the old one's history.
        """
        if not isinstance(username, str) or not _USERNAME_RE.match(username):
            raise InputError("invalid_username",
                             "Tên đăng nhập chỉ gồm chữ thường không dấu, số, '.', '_', '-' (2 đến 64 ký tự).", "username")
        role = _valid_role(role)
        unit_id = _valid_unit_id(unit_id)
        display_name = _valid_display_name(display_name)
        self.check_password_rules(username, password)
        digest = hash_password(password)
        with self.db.tx() as db:
            _require_unit_exists(db, unit_id)
            taken = db.execute("SELECT disabled FROM users WHERE username = ?", [username]).fetchone()
            if taken and taken[0]:
                raise Conflict("exists", f"Tên đăng nhập '{username}' thuộc một tài khoản đã bị vô hiệu hóa; "
                                         "hãy chọn tên khác.", "username")
            if taken:
                raise Conflict("exists", f"Tên đăng nhập '{username}' đã có.", "username")
            db.execute(
                "INSERT INTO users(username, display_name, password_hash, role, unit_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [username, display_name, digest, role, unit_id, format_time(utcnow())])
        return self.get(username)

    def update(self, username: str, *, role: Any = None, unit_id: Any = KEEP, display_name: Any = None,
               actor: str | None = None) -> User:
        """Change a role, scope or name; None (and :data:`KEEP` for ``unit_id``) leaves a field as it is.

        ``unit_id`` None or ``*`` is the whole tree.  A new role or scope ends the user's
        sessions, so nobody keeps working under rights they no longer hold.  ``actor``, the
        person making the change, may not change their own role or scope, and the last
        active whole-tree administrator may not lose that standing: either would lock the
        installation out of its own administration.
        """
        new_role = None if role is None else _valid_role(role)
        new_unit = KEEP if unit_id is KEEP else _valid_unit_id(unit_id)
        new_name = None if display_name is None else _valid_display_name(display_name)
        with self.db.tx() as db:
            current = self._active(username)
            role_after = current.role if new_role is None else new_role
            unit_after = current.unit_id if new_unit is KEEP else new_unit
            rights_change = (role_after, unit_after) != (current.role, current.unit_id)
            if rights_change:
                if unit_after != current.unit_id:
                    _require_unit_exists(db, unit_after)
                if actor == username:
                    raise Conflict("own_account", "Bạn không thể tự đổi vai trò hay phạm vi của chính mình; "
                                                  "hãy nhờ một quản trị viên khác.", "role")
                if not _whole_tree_manager(role_after, unit_after):
                    self._keep_one_manager(current)
            db.execute("UPDATE users SET role = ?, unit_id = ?, display_name = ?, "
                       "session_epoch = session_epoch + ? WHERE id = ?",
                       [role_after, unit_after, current.display_name if new_name is None else new_name,
                        1 if rights_change else 0, current.id])
        return self.get(username)

    def get(self, username: str) -> User:
        user = self._find("username = ? AND disabled = 0", [username])
        if user is None:
            raise NotFound("unknown_user", f"Không có người dùng '{username}'.")
        return user

    def find(self, username: Any) -> User | None:
        """An active account by name, or None (also for disabled ones)."""
        return self._find("username = ? AND disabled = 0", [username]) if isinstance(username, str) else None

    def by_id(self, user_id: Any) -> User | None:
        return self._find("id = ? AND disabled = 0", [user_id]) if isinstance(user_id, int) else None

    def _find(self, where: str, params: list[Any]) -> User | None:
        with self.db.tx() as db:
            row = db.execute(
                f"SELECT id, username, display_name, role, unit_id, session_epoch FROM users WHERE {where}", params
            ).fetchone()
        return User(*row) if row else None

    def list(self, *, disabled: bool = False) -> list[User]:
        """Active accounts, or with ``disabled`` the disabled ones (which can be enabled again)."""
        with self.db.tx() as db:
            rows = db.execute("SELECT id, username, display_name, role, unit_id, session_epoch FROM users "
                              "WHERE disabled = ? ORDER BY username", [int(disabled)]).fetchall()
        return [User(*r) for r in rows]

    def find_disabled(self, username: Any) -> User | None:
        return self._find("username = ? AND disabled = 1", [username]) if isinstance(username, str) else None

    def count(self) -> int:
        with self.db.tx() as db:
            return db["users"].count_where("disabled = 0")

    def authenticate(self, username: Any, password: Any, ip: str) -> User:
        """Check a password, throttled per (name, address) and per address, slowed per name; raises :class:`AuthError`."""
        if not isinstance(username, str) or not isinstance(password, str) or len(username) > 64 or len(password) > 1024:
            raise AuthError("bad_credentials", "Sai tên đăng nhập hoặc mật khẩu.")
        username = username.strip().lower()
        wait = self.throttle.retry_after(username, ip)
        if wait:
            raise AuthError("throttled", f"Đăng nhập sai quá nhiều lần; hãy thử lại sau {wait} giây.", wait)
        slow = self.throttle.delay(username)
        if slow:
            self.throttle.sleep(slow)
        with self.db.tx() as db:
            row = db.execute("SELECT id, password_hash FROM users WHERE username = ? AND disabled = 0",
                             [username]).fetchone()
        ok = check_password(password, row[1] if row else _dummy_hash()) and row is not None
        if not ok:
            self.throttle.failed(username, ip)
            raise AuthError("bad_credentials", "Sai tên đăng nhập hoặc mật khẩu.")
        self.throttle.succeeded(username, ip)
        return self.by_id(row[0])  # type: ignore[return-value]

    def set_password(self, username: str, password: Any) -> None:
        """Change a password; every session of that user ends (API tokens stay valid)."""
        self.check_password_rules(username, password)
        digest = hash_password(password)
        with self.db.tx() as db:
            current = self._active(username)
            db.execute("UPDATE users SET password_hash = ?, session_epoch = session_epoch + 1 WHERE id = ?",
                       [digest, current.id])

    def end_sessions(self, user_id: int) -> None:
        """End every sign-in session of a user (logout): the stored epoch moves on, so a copied cookie is dead.

        Session cookies are signed, not stored; what makes one valid is the epoch it carries
        matching the user's row, which every request checks.  API tokens are not sessions
        and stay valid.
        """
        with self.db.tx() as db:
            db.execute("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ?", [user_id])

    def disable(self, username: str, *, actor: str | None = None) -> None:
        """Disable an account: its sessions and API tokens stop working at once.

        Nobody disables their own account (``actor``), and the last active whole-tree
        administrator stays: without one, only the machine's shell could add people again.
        """
        with self.db.tx() as db:
            current = self._active(username)
            if actor == username:
                raise Conflict("own_account", "Bạn không thể tự vô hiệu hóa tài khoản của mình.")
            self._keep_one_manager(current)
            db.execute("UPDATE users SET disabled = 1, session_epoch = session_epoch + 1 WHERE id = ?", [current.id])

    def enable(self, username: str, password: Any) -> tuple[User, int]:
        """Enable a disabled account again, with a new password; returns it and how many API tokens were revoked.

        Whatever the account held before it was disabled may have been the reason for
        disabling it, so the old password and every old API token stay dead; role and
        scope come back as they were.
        """
        self.check_password_rules(username, password)
        digest = hash_password(password)
        with self.db.tx() as db:
            user = self.find_disabled(username)
            if user is None:
                raise NotFound("unknown_user", f"Không có tài khoản bị vô hiệu hóa tên '{username}'.")
            db.execute("UPDATE users SET disabled = 0, password_hash = ?, session_epoch = session_epoch + 1 WHERE id = ?",
                       [digest, user.id])
            revoked = db.execute("DELETE FROM api_tokens WHERE user_id = ?", [user.id]).rowcount
        return self.get(username), revoked

    def _active(self, username: Any) -> User:
        user = self.find(username)
        if user is None:
            raise NotFound("unknown_user", f"Không có người dùng '{username}'.")
        return user

    def _keep_one_manager(self, leaving: User) -> None:
        """Refuse when ``leaving`` is the last active whole-tree administrator (call inside the transaction)."""
        if not _whole_tree_manager(leaving.role, leaving.unit_id):
            return
        roles = sorted(PERMISSIONS["manage"])
        with self.db.tx() as db:
            others = db.execute(
                f"SELECT COUNT(*) FROM users WHERE disabled = 0 AND unit_id IS NULL AND id != ? "
                f"AND role IN ({', '.join('?' * len(roles))})", [leaving.id, *roles]).fetchone()[0]
        if not others:
            raise Conflict("last_admin", f"'{leaving.username}' là quản trị viên toàn hệ thống cuối cùng còn hoạt động; "
                                         "hãy giao quyền đó cho một người khác trước.", "role")

    # API tokens ----------------------------------------------------------------------
    def create_token(self, username: str, name: str = "") -> str:
        """A new API token for ``username``; it is shown once and only its digest is kept."""
        user = self.get(username)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.tx() as db:
            db.execute("INSERT INTO api_tokens(token_sha256, user_id, name, created_at) VALUES (?, ?, ?, ?)",
                       [token_digest(token), user.id, str(name)[:100], format_time(utcnow())])
        return token

    def revoke_tokens(self, username: str, name: str | None = None) -> int:
        """Delete a user's API tokens (only those called ``name`` if given); returns how many."""
        user = self.get(username)
        with self.db.tx() as db:
            sql, params = "DELETE FROM api_tokens WHERE user_id = ?", [user.id]
            if name is not None:
                sql, params = sql + " AND name = ?", params + [name]
            return db.execute(sql, params).rowcount

    def by_token(self, token: str) -> User | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        with self.db.tx() as db:
            row = db.execute("SELECT user_id FROM api_tokens WHERE token_sha256 = ?", [token_digest(token)]).fetchone()
        return self.by_id(row[0]) if row else None

    def scope(self, user: User) -> Scope:
        return scope_of(self.db, user.unit_id)

    def may_read_work_of(self, viewer: User, author: str) -> bool:
        """Whether work by ``author`` (a bulletin) is the viewer's to read: theirs, or by someone of their subtree."""
        s = self.scope(viewer)
        if s.whole_tree or author == viewer.username:
            return True
        by = self.find(author)
        return by is not None and by.unit_id is not None and s.has_unit(by.unit_id)
