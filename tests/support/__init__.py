"""Helpers shared by tests: real brokers (:mod:`support.broker`) and a real ingest server process."""
