"""Finding 4 of the penetration test: a consistent rewrite of a chain passed ``verify``, and
nothing copied the chain heads anywhere.

Now the controller signs the heads on a schedule, publishes them retained (every pole keeps
the latest it verified) and POSTs them to a second copy's URL; ``loaxa audit verify --heads``
compares the chains with those copies.  The rig runs the generated broker access rules, a
really enrolled agent, and a small HTTP server standing in for the province's copy.
"""

from __future__ import annotations

import http.server
import json
import sqlite3
import threading

import pytest

from controller.reports import hashchain
from controller.reports.audit import AUDIT_CHAIN
from loaxa import protocol
from support.harness import wait_for
from support.secure_rig import SecureRig


class CopyServer:
    """Records every POSTed body: the province's store of signed chain heads."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                server.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(204)
                self.end_headers()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/heads"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def province():
    server = CopyServer()
    yield server
    server.close()


def _audit_length(payload: bytes) -> int:
    heads = protocol.decode(payload, protocol.ChainHeads)
    return next((h.length for h in heads.heads if h.chain == "audit_log:all"), 0)


def _rewrite_audit_history(db_path) -> None:
    """An insider with the database and time: edit an old entry, recompute every later hash and the head."""
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    conn.execute("DROP TRIGGER audit_log_no_update")
    first = conn.execute("SELECT id FROM audit_log WHERE action = 'unit_added' ORDER BY id LIMIT 1").fetchone()[0]
    conn.execute("UPDATE audit_log SET details = ? WHERE id = ?", [json.dumps({"parent_id": "tinh-khac"}), first])
    last, length = hashchain.GENESIS, 0
    for row in conn.execute("SELECT * FROM audit_log ORDER BY id").fetchall():
        new = hashchain.link(last, AUDIT_CHAIN.content(dict(row)))
        conn.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?", [last, new, row["id"]])
        last, length = new, length + 1
    conn.execute("UPDATE chain_heads SET length = ?, head = ? WHERE chain = 'audit_log:all'", [length, last])
    conn.commit()
    conn.close()


def test_signed_heads_kept_on_the_pole_and_the_province_catch_a_consistent_rewrite(tmp_path, province):
    rig = SecureRig(tmp_path, sections=f'[retention]\nheads_every_min = 0.05\nheads_copy_url = "{province.url}"\n')
    try:
        ctl, pole, _code = rig.commune_with_pole("loa-1")
        with ctl.db() as conn:
            audited = conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
        copy_on_pole = pole.data_dir / "chain-heads.json"
        wait_for(lambda: copy_on_pole.exists() and _audit_length(copy_on_pole.read_bytes()) >= audited, timeout=40,
                 what="the pole keeps signed heads covering the enrollment")
        wait_for(lambda: province.bodies and _audit_length(province.bodies[-1]) >= audited, timeout=40,
                 what="the province received signed heads")
        key = protocol.public_key_from_text(ctl.api.get("/api/pubkey")["public_key"])
        kept = protocol.Verifier([key]).open(copy_on_pole.read_bytes(), protocol.ChainHeads)
        assert kept.controller_url and any(h.chain == "playback_events:loa-1" or h.chain == "audit_log:all"
                                           for h in kept.heads)
        at_province = tmp_path / "province-copy.json"
        at_province.write_bytes(province.bodies[-1])
        pole_copy = tmp_path / "pole-copy.json"
        pole_copy.write_bytes(copy_on_pole.read_bytes())
        ctl.stop()
        pole.stop()

        assert rig.cli("audit", "verify", "--heads", str(pole_copy), "--heads", str(at_province)).returncode == 0
        _rewrite_audit_history(rig.config.db_path)
        alone = rig.cli("audit", "verify", check=False)
        assert alone.returncode == 0, alone.stdout  # the rewrite is consistent: the database alone cannot tell

        for copy in (pole_copy, at_province):
            out = rig.cli("audit", "verify", "--heads", str(copy), check=False)
            assert out.returncode == 1, out.stdout
            assert "TAMPERED" in out.stdout and "history up to here was rewritten" in out.stdout

        forged = json.loads(pole_copy.read_bytes())
        forged["body"]["heads"] = []
        fake = tmp_path / "forged-copy.json"
        fake.write_text(json.dumps(forged))
        out = rig.cli("audit", "verify", "--heads", str(fake), check=False)
        assert out.returncode == 1 and "copy refused" in out.stdout  # a copy must carry the controller's signature
    finally:
        rig.close()
