"""Helpers of the Cadence benchmarks: workloads, the processes they start, and the MQTT peers.

Run the benchmarks through ``benchmarks/ingest.py``; nothing here is part of the installed package.
"""
