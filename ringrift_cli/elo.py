"""Ratings of a config, fitted from its recorded matches whenever asked (never stored as totals)."""

from __future__ import annotations

from .ai.ratings import Game, Rating, fit_ratings
from .store.db import Store
from .store.matches import matches_for


def config_ratings(store: Store, config_key: str) -> dict[str, Rating]:
    """Every participant of the config's matches (plus the pinned ``random``), by maximum likelihood."""
    games = [Game(m.players, m.ranks) for m in matches_for(store, config_key)]
    return fit_ratings(games)
