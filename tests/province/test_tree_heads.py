"""Finding 4 over the broker tree: a pole under a commune broker keeps the retained signed chain heads.

The province broker and two commune brokers run the configs ``loaxa broker config`` writes;
the heads the controller publishes retained on the province broker must cross each
commune's bridge, so every pole keeps the copy ``loaxa audit verify --heads`` can use.
"""

from __future__ import annotations

from controller.security.commune_config import commune_files
from loaxa import protocol
from support.harness import wait_for
from support.tree_rig import started_province


def test_every_pole_under_a_commune_broker_keeps_the_signed_chain_heads(tmp_path):
    rig, ctl, agents = started_province(tmp_path)
    try:
        for commune in ("xa-a", "xa-b"):
            conf = commune_files(rig.config, commune).conf.read_text()
            assert f"topic {protocol.heads_topic()} in 1" in conf
        verifier = protocol.Verifier([protocol.public_key_from_text(ctl.api.get("/api/pubkey")["public_key"])])
        for device_id, agent in agents.items():
            copy = agent.data_dir / "chain-heads.json"
            wait_for(copy.exists, timeout=60, what=f"{device_id} keeps the signed heads from its commune broker")
            heads = verifier.open(copy.read_bytes(), protocol.ChainHeads)
            assert heads.controller_url == ctl.url
            assert next(h.length for h in heads.heads if h.chain == "audit_log:all") > 0  # the enrollments, at least
    finally:
        rig.close()
