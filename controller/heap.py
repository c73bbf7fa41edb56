"""The controller's long-lived heap, kept out of the garbage collector's full collections.

A province's compliance page allocates some hundred thousand objects (rows, dicts, dataclasses);
that is enough to trigger full collections, and each walked the whole heap of the controller
(the modules, the administrative tree, the plans' caches): 100 to 200 ms of a call on a
10,000-cluster province.  Objects alive once the controller has started are there for the life
of the process, so they are frozen (:func:`gc.freeze`): collections then walk only what was
allocated since.
"""

from __future__ import annotations

import gc
import logging

from controller.db import Database
from controller.plan_expansion import load_tree

log = logging.getLogger(__name__)


def freeze_startup_heap(db: Database) -> int:
    """Build the shared administrative tree (every report reads it), collect once, then move every
    surviving object to the permanent generation; returns how many."""
    load_tree(db)
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info("froze %d start-up objects out of the collector's generations", frozen)
    return frozen
