"""Cadence: shop-floor data for hydraulic press plants, from the machine to a durable store, in real time."""

__version__ = "0.1.0"
