"""The loop: one bounded pass (a tick) that turns table state into the jobs that are due.

``policies`` and ``breakers`` are pure: (snapshot, settings, now) in, actions with reasons
out. ``tick`` reads the snapshot, applies the actions in one transaction and records the
tick. Nothing here imports torch or runs stage work.
"""
