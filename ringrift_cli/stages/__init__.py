"""Pipeline stages: each a function from a claimed job to its result.

Stages never decide what runs next; the loop does.
"""
