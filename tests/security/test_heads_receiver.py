"""The receiving end of ``heads_copy_url``: a second real controller keeps a commune's signed chain heads.

Two real controllers: the commune's ships its heads every few seconds over HTTPS (verified
against the province's CA) to the province's, which verifies each against the key pinned for
that sender, keeps it append-only and serves every copy back.  After a consistent rewrite
of the commune's audit trail, the commune's ``loaxa audit verify --heads <province URL>``
says TAMPERED, even when the province also holds a copy signed after the rewrite; the
province notices that copy by itself (same length, another head) and audits it.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.error
import urllib.request

import pytest

from controller.db import Database
from controller.reports.head_copies import sign_heads
from controller.security.key_file import load_or_create_signer
from loaxa import protocol
from loaxa.protocol import Signer
from support.harness import wait_for
from support.secure_rig import SecureRig
from test_head_copies import _rewrite_audit_history


def _post(url: str, body: bytes, context) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=20, context=context) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_second_controller_keeps_the_signed_heads_and_verify_compares_with_every_copy(tmp_path):
    import ssl

    commune_key_path = tmp_path / "commune" / "controller" / "keys" / "controller-ed25519.pem"
    commune_key = load_or_create_signer(commune_key_path)  # as the commune's first start makes it
    province = SecureRig(tmp_path / "province", https=True, sections=(
        "[retention]\nheads_copy_senders = "
        f'["xa-dong-son={protocol.public_key_to_text(commune_key.public_key)}"]\n'))
    commune = None
    try:
        province.generate()
        province.start_broker()
        prov = province.controller()
        ca = str(province.files.ca_cert)
        copies_url = f"{province.url}/api/heads-copies/xa-dong-son"
        commune = SecureRig(tmp_path / "commune", sections=(
            f'[retention]\nheads_every_min = 0.05\nheads_copy_url = "{copies_url}"\nheads_copy_cafile = "{ca}"\n'))
        commune.generate()
        commune.start_broker()
        ctl = commune.controller()
        ctl.api.post("/api/units", {"id": "xa", "name": "Xã Đông Sơn", "level": "commune"})
        with ctl.db() as conn:
            audited = conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
        trusted = ssl.create_default_context(cafile=ca)

        def kept() -> list[protocol.ChainHeads]:
            with urllib.request.urlopen(copies_url, timeout=20, context=trusted) as resp:
                return [protocol.Verifier([commune_key.public_key]).open(c, protocol.ChainHeads)
                        for c in json.loads(resp.read())["copies"]]

        def covers(heads: protocol.ChainHeads) -> bool:
            return any(h.chain == "audit_log:all" and h.length >= audited for h in heads.heads)

        wait_for(lambda: any(covers(h) for h in kept()), timeout=60, what="the province keeps a copy covering the unit")
        ctl.stop()
        held = kept()
        assert [h.seq for h in held] == sorted({h.seq for h in held})  # one per shipment, in order

        # Only the pinned sender's signature counts; old copies cannot be replayed; unknown senders are refused.
        forged = Signer.generate().seal(protocol.ChainHeads(seq=10**6, issued_at=protocol.utcnow(), heads=()))
        status, err = _post(copies_url, forged, trusted)
        assert status == 403 and err["code"] == "bad_signature"
        oldest = json.loads(urllib.request.urlopen(copies_url, timeout=20, context=trusted).read())["copies"][0]
        status, err = _post(copies_url, oldest.encode(), trusted)
        assert status == 409 and err["code"] == "stale_copy"
        status, err = _post(f"{province.url}/api/heads-copies/xa-khac", oldest.encode(), trusted)
        assert status == 404 and err["code"] == "unknown_sender"
        status, err = _post(copies_url, b'{"v": 1, "type": "heads", "body": ' + b"[" * 5000 + b"]" * 5000 + b"}", trusted)
        assert status == 400
        with sqlite3.connect(province.config.db_path) as conn, pytest.raises(sqlite3.IntegrityError):
            conn.execute("DELETE FROM received_chain_heads")
        assert len(kept()) == len(held)

        # A consistent rewrite: the database alone agrees with itself, the province's copies do not.
        _rewrite_audit_history(commune.config.db_path)
        assert commune.cli("audit", "verify", check=False).returncode == 0
        db = Database(commune.config.db_path)
        try:
            after = sign_heads(db, commune_key, ctl.url)  # what the commune ships next, rewritten history included
        finally:
            db.close()
        status, answer = _post(copies_url, after, trusted)
        assert status == 201 and any("audit_log:all" in c and "rewritten" in c for c in answer["conflicts"])
        out = commune.cli("audit", "verify", "--heads", copies_url, "--cafile", ca, check=False)
        assert out.returncode == 1 and "TAMPERED" in out.stdout and "history up to here was rewritten" in out.stdout
        audit = [e for e in prov.api.get("/api/audit") if e["action"] == "chain_heads_conflict"]
        assert audit and audit[0]["target"] == "xa-dong-son"
        with pytest.raises(urllib.error.URLError):  # the province's HTTPS is vouched for by its CA only
            urllib.request.urlopen(copies_url, timeout=20, context=ssl.create_default_context())
    finally:
        if commune is not None:
            commune.close()
        province.close()
