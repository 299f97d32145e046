"""ringrift: train RingRift AIs by self-improvement from one command line."""

__version__ = "0.1.0"
