"""The controller keys this device trusts, pinned at enrollment and moved on only by signed rollovers.

The set lives in the agent's store, not the config file: after a rollover the old key
is retired for good, even across restarts.  The config's ``controller_public_key`` only
seeds the set; a different key there (the device was enrolled again) starts afresh.
Retired keys are remembered for one purpose: the plan already stored on disk, verified
when it arrived, still loads after a restart that happens before the re-signed plan does.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from edge_agent.store import AgentStore
from loaxa import protocol
from loaxa.protocol import KeyRollover, ProtocolError, Verifier, key_id, public_key_from_text
from loaxa.release import ReleaseKeyRollover

log = logging.getLogger(__name__)

STORE_KEY = "controller_keys"
RELEASE_STORE_KEY = "release_keys"


@dataclass(frozen=True)
class Accepted:
    rollover: KeyRollover | ReleaseKeyRollover
    next_kid: str


class PinnedKeys:
    """One pinned key set; the controller's signing keys by default, the release keys with
    ``store_key=RELEASE_STORE_KEY, rollover=ReleaseKeyRollover``."""

    def __init__(self, store: AgentStore, enrolled_key: str, store_key: str = STORE_KEY,
                 rollover: type[KeyRollover] | type[ReleaseKeyRollover] = KeyRollover):
        self.store = store
        self.store_key = store_key
        self.rollover_cls = rollover
        public_key_from_text(enrolled_key)
        state = self._load()
        if state.get("seed") != enrolled_key.strip():
            state = {"seed": enrolled_key.strip(), "keys": [enrolled_key.strip()], "retired": [], "seq": 0}
            self._save(state)
        self._state = state
        self.verifier = Verifier([public_key_from_text(k) for k in state["keys"]])

    def _load(self) -> dict:
        raw = self.store.get(self.store_key)
        try:
            state = json.loads(raw) if raw else {}
        except ValueError:
            state = {}
        return state if isinstance(state, dict) else {}

    def _save(self, state: dict) -> None:
        self.store.set(self.store_key, json.dumps(state))

    @property
    def kids(self) -> tuple[str, ...]:
        return self.verifier.kids

    @property
    def rollover_seq(self) -> int:
        return int(self._state.get("seq", 0))

    @property
    def retired_kids(self) -> tuple[str, ...]:
        return tuple(key_id(public_key_from_text(k)) for k in self._state.get("retired", []))

    def for_stored_plan(self) -> Verifier:
        """Current and retired keys: only for the plan this device stored itself."""
        keys = self._state["keys"] + self._state.get("retired", [])
        return Verifier([public_key_from_text(k) for k in keys])

    def apply_rollover(self, payload: bytes) -> Accepted | None:
        """Verify a rollover and move to the next key; None for one already applied. Raises ProtocolError."""
        try:
            seq = json.loads(payload)["body"]["seq"]
            if isinstance(seq, int) and seq <= self.rollover_seq:
                return None  # the retained copy of a rollover already applied (or an older one): nothing to do
        except (ValueError, KeyError, TypeError):
            pass
        rollover = self.verifier.open(payload, self.rollover_cls)
        signed_by = json.loads(payload)["kid"]
        if rollover.retire_kid != signed_by:
            raise ProtocolError(f"a rollover must retire the key that signed it ({signed_by}), not {rollover.retire_kid}")
        next_key = public_key_from_text(rollover.next_public_key)
        next_kid = key_id(next_key)
        if next_kid in self.verifier.kids:
            raise ProtocolError(f"rollover #{rollover.seq} introduces a key already trusted ({next_kid})")
        keys = [k for k in self._state["keys"] if key_id(public_key_from_text(k)) != rollover.retire_kid]
        retired = [k for k in self._state["keys"] if k not in keys]
        state = dict(self._state, keys=keys + [rollover.next_public_key],
                     retired=(self._state.get("retired", []) + retired)[-4:], seq=rollover.seq)
        self._save(state)
        self._state = state
        self.verifier.add(next_key)
        self.verifier.retire(rollover.retire_kid)
        log.warning("%s rollover #%d: now trusting %s, retired %s", self.store_key, rollover.seq, next_kid,
                    rollover.retire_kid)
        return Accepted(rollover, next_kid)


def is_keys_topic(topic: str) -> bool:
    return topic == protocol.keys_topic()
