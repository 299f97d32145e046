"""Playing and learning: board encoding for networks, search, selfplay."""
