"""Relay sources as data: what a commune may relay (VOV, the provincial station), and a probe.

A source is a name, a URL and what the URL is: an HLS playlist (VOV's Wowza origins), an
Icecast/HTTP stream (MP3, AAC or Opus), or the provincial station's audio-to-IP encoder
(an HTTP or RTP/UDP stream).  A source may name a fallback: another source, or a short
recorded notice from the media store, played once and followed by silence.

The probe listens with ffmpeg for a few seconds and says, in Vietnamese for the UI, whether
the source is alive and what it sends (codec, bitrate, level); it is the "test" button.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit

from controller.db import Database
from controller.errors import Conflict, InputError, NotFound
from controller.ids import new_id
from loaxa.local_time import to_local
from loaxa.protocol import format_time, utcnow
from loaxa.wire_time import parse_time

log = logging.getLogger(__name__)

KINDS = ("hls", "http", "encoder")
KIND_NAMES_VI = {"hls": "danh sách HLS (m3u8)", "http": "luồng Icecast/HTTP", "encoder": "bộ mã hóa của đài tỉnh"}
SCHEMES = {"hls": ("http", "https"), "http": ("http", "https"), "encoder": ("http", "https", "rtp", "udp", "srt")}
MAX_URL = 500
NOTICE_MAX_S = 120.0  # a fallback notice is played once, then silence: a short recorded announcement
NOTICE_MAX_BYTES = 25 * 1024 * 1024  # two minutes of 48 kHz stereo WAV fit
EDITABLE = ("name", "url", "kind", "unit_id", "fallback_source_id", "fallback_media_sha256")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")


@dataclass(frozen=True)
class RelaySource:
    id: str
    name: str
    url: str
    kind: str
    unit_id: str | None = None
    fallback_source_id: str | None = None
    fallback_media_sha256: str | None = None
    last_probe: dict[str, Any] | None = None
    removed_at: str | None = None

    @property
    def mount(self) -> str:
        """The Icecast mount the controller restreams this source to."""
        return f"/relay-{self.id}.ogg"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["mount"] = self.mount
        out["kind_vi"] = self.kind_vi
        out["display_url"] = self.display_url
        return out

    @property
    def kind_vi(self) -> str:
        return KIND_NAMES_VI[self.kind]

    @property
    def display_url(self) -> str:
        """The URL as a page shows it: a password inside it (an Icecast listener account) is hidden."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        return parts._replace(netloc=f"{parts.username}:•••@{host}").geturl()


@dataclass(frozen=True)
class ProbeResult:
    """What a few seconds of listening found; ``message_vi`` is what the operator reads."""

    alive: bool
    codec: str
    bitrate_kbps: float | None
    seconds: float
    mean_dbfs: float | None
    silent: bool
    reason: str
    message_vi: str
    preview_url: str | None = None  # the seconds heard, for the browser to play (through the controller)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RelayUse:
    """A relay programme not over yet that airs a source: why the source cannot be removed now."""

    broadcast_id: str
    title: str
    status: str
    ends_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class NoticeChoice:
    """A short recording of the media store an administrator may pick as a source's fallback notice."""

    sha256: str
    label: str
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SourceSwitch:
    """A relay moved from one input of a source to another (``primary``, ``fallback``...), and why."""

    from_input: str
    to_input: str
    reason: str
    at: str


def _row_to_source(row: dict[str, Any]) -> RelaySource:
    return RelaySource(row["id"], row["name"], row["url"], row["kind"], row["unit_id"], row["fallback_source_id"],
                       row["fallback_media_sha256"], json.loads(row["last_probe_json"]) if row["last_probe_json"] else None,
                       row.get("removed_at"))


def notice_too_long(seconds: float) -> str:
    return (f"Thông báo dự phòng dài {seconds:.0f} giây; chỉ nhận bản ghi ngắn, tối đa {NOTICE_MAX_S:.0f} giây "
            "(phát một lần rồi im lặng).")


def _local_label(at: str) -> str:
    try:
        return to_local(parse_time(at, "created_at")).strftime("%H:%M %d/%m/%Y")
    except (ValueError, TypeError):
        return at


def check_url(url: Any, kind: str) -> str:
    """A stream URL the restreamer may open; session-bound or local-file URLs are refused."""
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL:
        raise InputError("invalid_url", f"Địa chỉ nguồn phải là một URL (tối đa {MAX_URL} ký tự).", "url")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES[kind] or not parts.hostname:
        raise InputError("invalid_url", f"Địa chỉ của {KIND_NAMES_VI[kind]} phải bắt đầu bằng "
                         f"{' hoặc '.join(s + '://' for s in SCHEMES[kind])} và có tên máy chủ.", "url")
    if kind == "hls" and "chunklist_w" in parts.path:
        raise InputError("session_url", "Đây là danh sách gắn với một phiên nghe (chunklist_w…); hãy dùng địa chỉ "
                         "playlist.m3u8 gốc.", "url")
    return url


class Sources:
    """The ``relay_sources`` table, validated in one place."""

    def __init__(self, db: Database):
        self.db = db

    def add(self, name: Any, url: Any, kind: Any, unit_id: Any = None, fallback_source_id: Any = None,
            fallback_media_sha256: Any = None, created_by: str = "", source_id: Any = None) -> RelaySource:
        fields = self._validated(name, url, kind, unit_id, fallback_source_id, fallback_media_sha256, None)
        sid = source_id if source_id is not None else new_id("src").lower().replace("_", "-")
        if not isinstance(sid, str) or not _ID_RE.match(sid):
            raise InputError("invalid_source_id", "Mã nguồn chỉ gồm chữ thường, số và dấu '-' (tối đa 41 ký tự).", "id")
        with self.db.tx() as db:
            if db["relay_sources"].count_where("id = ?", [sid]):
                raise Conflict("source_exists", f"Đã có nguồn '{sid}'.", "id")
            db["relay_sources"].insert({"id": sid, **fields, "last_probe_json": "",
                                        "created_at": format_time(utcnow()), "created_by": created_by})
        return self.get(sid)

    def update(self, source_id: str, changes: dict[str, Any]) -> RelaySource:
        """Change the :data:`EDITABLE` fields; a new URL or kind forgets the last test, which heard the old one."""
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise InputError("unknown_field", f"Không sửa được trường {', '.join(unknown)}; sửa được: "
                             f"{', '.join(EDITABLE)}.", unknown[0])
        cur = self.get(source_id)
        merged = {**asdict(cur), **changes}
        fields = self._validated(merged["name"], merged["url"], merged["kind"], merged["unit_id"],
                                 merged["fallback_source_id"], merged["fallback_media_sha256"], source_id,
                                 check_notice=merged["fallback_media_sha256"] != cur.fallback_media_sha256)
        if (fields["url"], fields["kind"]) != (cur.url, cur.kind):
            fields["last_probe_json"] = ""
        with self.db.tx() as db:
            db["relay_sources"].update(source_id, fields)
        return self.get(source_id)

    def active_relays(self, source_id: str) -> list[RelayUse]:
        """Relay programmes of the source that are not over: drafted, awaiting approval or approved, ending later."""
        with self.db.tx() as db:
            rows = db.execute(
                """SELECT bc.id, b.title, bc.status, COALESCE(bc.ends_at, bc.starts_at) FROM broadcasts bc
                   JOIN bulletins b ON b.id = bc.bulletin_id
                   WHERE b.relay_source_id = ? AND bc.status IN ('draft', 'pending_approval', 'approved')
                     AND COALESCE(bc.ends_at, bc.starts_at) >= ? ORDER BY bc.starts_at""",
                [source_id, format_time(utcnow())]).fetchall()
        return [RelayUse(*r) for r in rows]

    def fallback_users(self, source_id: str) -> list[RelaySource]:
        """The sources (not removed) that fall back to this one."""
        with self.db.tx() as db:
            rows = list(db["relay_sources"].rows_where("fallback_source_id = ? AND removed_at IS NULL", [source_id],
                                                       order_by="name"))
        return [_row_to_source(r) for r in rows]

    def mark_removed(self, source_id: str, by: str) -> str:
        """Take the source off every list; its row stays, since past relays and the audit trail name it."""
        at = format_time(utcnow())
        with self.db.tx() as db:
            db["relay_sources"].update(source_id, {"removed_at": at, "removed_by": by})
        return at

    def notice_choices(self, may_see: Callable[[str], bool]) -> list[NoticeChoice]:
        """Short Opus recordings of the store: notices already uploaded, and recorded announcements whose
        author ``may_see`` (another commune's recordings are not offered)."""
        with self.db.tx() as db:
            rows = db.execute(
                """SELECT m.sha256, m.duration_s, m.created_at, b.title, b.created_by,
                          EXISTS (SELECT 1 FROM relay_sources r WHERE r.fallback_media_sha256 = m.sha256)
                   FROM media m LEFT JOIN bulletins b ON b.media_sha256 = m.sha256
                   WHERE m.ext = 'ogg' AND m.engine = 'upload' AND m.duration_s <= ? ORDER BY m.created_at DESC""",
                [NOTICE_MAX_S]).fetchall()
        out: dict[str, NoticeChoice] = {}
        for sha, duration, created, title, author, in_use in rows:
            if sha in out or (title is not None and not in_use and not may_see(author or "")):
                continue
            label = title or f"Thông báo tải lên {_local_label(created)}"
            out[sha] = NoticeChoice(sha, f"{label} ({duration:.0f} giây)", duration)
        return list(out.values())

    def _validated(self, name: Any, url: Any, kind: Any, unit_id: Any, fallback_source_id: Any,
                   fallback_media_sha256: Any, own_id: str | None, check_notice: bool = True) -> dict[str, Any]:
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise InputError("invalid_name", "Tên nguồn không được để trống (tối đa 200 ký tự).", "name")
        if kind not in KINDS:
            raise InputError("invalid_kind", "Loại nguồn phải là HLS, Icecast/HTTP hoặc bộ mã hóa của đài tỉnh.", "kind")
        url = check_url(url, kind)
        with self.db.tx() as db:
            if unit_id is not None and not db["units"].count_where("id = ?", [unit_id]):
                raise InputError("unknown_unit", f"Không có đơn vị '{unit_id}'.", "unit_id")
            if fallback_source_id is not None:
                if fallback_source_id == own_id:
                    raise InputError("fallback_loop", "Nguồn dự phòng không thể là chính nguồn này.", "fallback_source_id")
                if not db["relay_sources"].count_where("id = ? AND removed_at IS NULL", [fallback_source_id]):
                    raise InputError("unknown_source", f"Không có nguồn dự phòng '{fallback_source_id}'.",
                                     "fallback_source_id")
            if fallback_media_sha256 is not None:
                found = db.execute("SELECT duration_s FROM media WHERE sha256 = ?", [fallback_media_sha256]).fetchone()
                if found is None:
                    raise InputError("unknown_media", "Không có bản ghi thông báo dự phòng này trong kho âm thanh.",
                                     "fallback_media_sha256")
                if check_notice and found[0] > NOTICE_MAX_S:
                    raise InputError("notice_too_long", notice_too_long(found[0]), "fallback_media_sha256")
        return {"name": name.strip(), "url": url, "kind": kind, "unit_id": unit_id,
                "fallback_source_id": fallback_source_id, "fallback_media_sha256": fallback_media_sha256}

    def get(self, source_id: str) -> RelaySource:
        """A source in use; a removed one is not found (it can be neither relayed nor changed)."""
        with self.db.tx() as db:
            rows = list(db["relay_sources"].rows_where("id = ?", [source_id]))
        if not rows:
            raise NotFound("unknown_source", f"Không có nguồn tiếp sóng '{source_id}'.")
        if rows[0].get("removed_at"):
            raise NotFound("source_removed", f"Nguồn tiếp sóng '{rows[0]['name']}' đã bị xóa.")
        return _row_to_source(rows[0])

    def list(self) -> list[RelaySource]:
        with self.db.tx() as db:
            rows = list(db["relay_sources"].rows_where("removed_at IS NULL", order_by="name"))
        return [_row_to_source(r) for r in rows]

    def remember_probe(self, source_id: str, result: ProbeResult) -> None:
        with self.db.tx() as db:
            db["relay_sources"].update(source_id, {"last_probe_json": json.dumps(
                {**result.to_dict(), "at": format_time(utcnow())}, ensure_ascii=False)})

    def log_switch(self, source_id: str, mount: str, from_input: str, to_input: str, reason: str) -> None:
        with self.db.tx() as db:
            db["relay_switches"].insert({"source_id": source_id, "mount": mount, "from_input": from_input,
                                         "to_input": to_input, "reason": reason, "at": format_time(utcnow())})

    def switches(self, source_id: str) -> list[SourceSwitch]:
        with self.db.tx() as db:
            rows = db.execute("SELECT from_input, to_input, reason, at FROM relay_switches WHERE source_id = ? "
                              "ORDER BY id", [source_id]).fetchall()
        return [SourceSwitch(*r) for r in rows]


# --- listening to a source ------------------------------------------------------------------


FORMAT_OF_CODEC = {"mp3": "mp3", "aac": "aac", "opus": "ogg", "vorbis": "ogg"}
FORMAT_OF_SUFFIX = {".mp3": "mp3", ".aac": "aac", ".ogg": "ogg", ".opus": "ogg", ".oga": "ogg"}


def format_hint(url: str, kind: str, codec: str = "") -> str:
    """The container of an Icecast/HTTP stream, when known: ffmpeg then skips format probing,
    which on a live MP3 stream costs about nine seconds of listening."""
    if kind != "http":
        return ""
    if codec in FORMAT_OF_CODEC:
        return FORMAT_OF_CODEC[codec]
    path = urlsplit(url).path.lower()
    return next((f for suffix, f in FORMAT_OF_SUFFIX.items() if path.endswith(suffix)), "")


def input_args(url: str, kind: str, *, realtime: bool = False, codec: str = "") -> list[str]:
    """ffmpeg input options for a live source, before ``-i`` (where they apply).

    Reconnect on network errors but never ``-reconnect_at_eof`` on HLS (it loops forever on a
    normal playlist end); ``-m3u8_hold_counters`` makes a stale live playlist end the input.
    """
    args = ["-rw_timeout", "5000000", "-analyzeduration", "1000000", "-probesize", "65536"]  # live: start within ~1 s
    if urlsplit(url).scheme in ("http", "https"):
        args += ["-reconnect", "1", "-reconnect_streamed", "1", "-reconnect_on_network_error", "1",
                 "-reconnect_delay_max", "2"]
    if kind == "hls":
        args += ["-m3u8_hold_counters", "3", "-live_start_index", "-1"]
    if realtime:
        args.append("-re")
    fmt = format_hint(url, kind, codec)
    if fmt:
        args += ["-f", fmt]
    return args + ["-i", url]


_AUDIO_RE = re.compile(r"Stream #\d+:\d+.*?: Audio: (\w+)[^\n]*?(?:, (\d+) kb/s)?\s*$", re.M)
_TIME_RE = re.compile(r"time=(\d+):(\d+):([\d.]+)")
_MEAN_RE = re.compile(r"mean_volume: (-?[\d.]+|-inf) dB")


PLAYLIST_DEPTH = 4  # master → variant → media playlist is as deep as a real HLS source goes
PLAYLIST_FETCH_S = 5.0
PLAYLIST_FETCHES = 6  # at most this many playlists are read for one check
LOOP_MESSAGE = "Danh sách phát trỏ vòng lại chính nó; hãy dùng địa chỉ khác."


def playlist_loop(url: str, depth: int = PLAYLIST_DEPTH, seen: tuple[str, ...] = (),
                  budget: list[int] | None = None) -> bool:
    """True when an HLS playlist leads back to itself (directly, through a variant, or by redirects).

    ffmpeg follows such a playlist until its own timeout, which only says "treo"; walking the
    references first names the fault.  Bounded: ``depth`` levels, ``PLAYLIST_FETCHES`` playlists
    of ``PLAYLIST_FETCH_S`` each.
    """
    budget = [PLAYLIST_FETCHES] if budget is None else budget
    if url in seen:
        return True
    if depth <= 0 or budget[0] <= 0:
        return False
    budget[0] -= 1
    try:
        with urllib.request.urlopen(url, timeout=PLAYLIST_FETCH_S) as resp:  # noqa: S310 - http(s) checked by check_url
            final = resp.geturl()
            head = resp.read(16)  # a live audio stream behind the URL would never end: look before reading on
            if not head.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"#EXTM3U"):
                return False
            text = (head + resp.read(256 * 1024)).decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        return 300 <= exc.code < 400  # urllib gives up on a redirect loop with the 3xx itself
    except (OSError, ValueError):
        return False  # unreachable: ffmpeg's probe says so in its own words
    if final != url and final in seen:
        return True
    here = (*seen, url, final)
    refs = [urljoin(final, line.strip()) for line in text.splitlines() if line.strip() and not line.startswith("#")]
    for ref in refs[:8]:
        if ref in here:
            return True
        if urlsplit(ref).path.lower().endswith((".m3u8", ".m3u")) and playlist_loop(ref, depth - 1, here, budget):
            return True
    return False


def probe(url: str, kind: str, seconds: float = 10.0, silence_dbfs: float = -55.0,
          record_to: Path | None = None) -> ProbeResult:
    """Listen to ``url`` for ``seconds`` with ffmpeg: alive, codec, bitrate, level, or why not.

    With ``record_to``, what was heard is also written there as Opus (the browser plays it
    from the controller: the page's policy admits no foreign audio).  A failed probe leaves
    no recording.
    """
    if kind == "hls" and playlist_loop(url):
        return _result(False, "", "loop", LOOP_MESSAGE)
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "info", *input_args(url, kind), "-t", str(seconds),
           "-vn", "-af", "volumedetect", "-f", "null", "-"]
    if record_to is not None:
        record_to.parent.mkdir(parents=True, exist_ok=True)
        cmd += ["-t", str(seconds), "-vn", "-ac", "1", "-ar", "48000", "-c:a", "libopus", "-b:a", "32k", "-f", "ogg",
                "-y", str(record_to)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=seconds + 20)
        err = proc.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as exc:
        err = (exc.stderr or b"").decode(errors="replace")
        return _forget(record_to, _result(False, err, "stalled",
                                          "Nguồn không gửi âm thanh (treo): kiểm tra lại địa chỉ hoặc thử lại sau."))
    result = _heard(err, seconds, silence_dbfs)
    return result if result.alive else _forget(record_to, result)


def _forget(record_to: Path | None, result: ProbeResult) -> ProbeResult:
    if record_to is not None:
        record_to.unlink(missing_ok=True)
    return result


def _heard(err: str, seconds: float, silence_dbfs: float) -> ProbeResult:
    """What ffmpeg's log of a probe says about the source."""
    low = err.lower()
    if re.search(r"decoder \(codec [^)]*\) not found|audio: none\b|unknown codec", low):
        return _result(False, err, "codec", "Nguồn dùng định dạng âm thanh mà hệ thống không giải mã được.")
    codec_m = _AUDIO_RE.search(err)
    times = _TIME_RE.findall(err)
    got = 0.0
    if times:
        h, m, s = times[-1]
        got = int(h) * 3600 + int(m) * 60 + float(s)
    if codec_m is None:
        if "decoder" in low and "not found" in low or "no decoder" in low:
            return _result(False, err, "codec", "Nguồn dùng định dạng âm thanh mà hệ thống không giải mã được.")
        if "recursion" in low or "too many redirects" in low or "loop" in low:
            return _result(False, err, "loop", LOOP_MESSAGE)
        if re.search(r"(http error|server returned) \d{3}\b", low) or "server returned" in low:
            return _result(False, err, "http_error", "Máy chủ nguồn từ chối hoặc không có luồng ở địa chỉ này.")
        if "connection refused" in low or "failed to resolve" in low or "timed out" in low or "i/o error" in low:
            return _result(False, err, "unreachable", "Không kết nối được tới máy chủ nguồn.")
        return _result(False, err, "not_a_stream", "Địa chỉ này không phải là một luồng âm thanh.")
    codec = codec_m.group(1)
    bitrate = float(codec_m.group(2)) if codec_m.group(2) else None
    mean_m = _MEAN_RE.search(err)
    mean = None if mean_m is None or mean_m.group(1) == "-inf" else float(mean_m.group(1))
    silent = mean is None or mean < silence_dbfs
    if got < seconds * 0.6:
        return ProbeResult(False, codec, bitrate, round(got, 2), mean, silent, "short",
                           f"Nguồn chỉ gửi {got:.1f} giây âm thanh trong {seconds:.0f} giây thử: luồng chập chờn.")
    msg = f"Nguồn đang phát: {codec}" + (f", {bitrate:.0f} kb/s" if bitrate else "") + "."
    if silent:
        msg += " Cảnh báo: nguồn đang phát im lặng."
    return ProbeResult(True, codec, bitrate, round(got, 2), mean, silent, "ok" if not silent else "silent", msg)


def _result(alive: bool, err: str, reason: str, message: str) -> ProbeResult:
    log.info("probe failed (%s): %s", reason, err.strip().splitlines()[-1:] if err.strip() else "")
    return ProbeResult(alive, "", None, 0.0, None, False, reason, message)
