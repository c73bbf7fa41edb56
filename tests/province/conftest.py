"""The province fixture comes from the one tree harness, support.tree_rig."""

from support.tree_rig import province  # noqa: F401
