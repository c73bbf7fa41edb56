"""JSON API of chain-head copies kept for other controllers (this one as a province server or second controller).

``POST /api/heads-copies/<sender>`` takes the signed ``ChainHeads`` a sender's ``[retention]
heads_copy_url`` ships: no user and no CSRF token, since the sender's signature, checked
against the key pinned for it here, is the authentication.  ``GET`` serves every copy kept,
for ``loaxa audit verify --heads <url>`` on the sender: the heads are hashes, not secrets.
"""

from __future__ import annotations

from flask import Blueprint, request

from web import auth
from web.api import ctl

bp = Blueprint("api_heads", __name__, url_prefix="/api")


@bp.post("/heads-copies/<sender>")
@auth.device_endpoint
def receive_heads(sender: str):
    return ctl().head_receiver.receive(sender, request.get_data(cache=False)).to_dict(), 201


@bp.get("/heads-copies/<sender>")
@auth.public
def heads_copies(sender: str):
    return {"sender": sender, "copies": ctl().head_receiver.copies(sender)}
