"""Strategy and tooling subcommands (diagnose, errors, select, cluster)."""

from __future__ import annotations


def register(sub) -> None:
    """Register the subcommands that live in other issues' modules."""
