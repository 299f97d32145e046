"""Hosts and how work reaches them (SSH via Fabric; the local machine by subprocess)."""
