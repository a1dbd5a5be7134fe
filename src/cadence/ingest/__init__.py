"""Ingest: messages from MQTT, HTTP or in-process senders → validated batches → the store.

* :mod:`cadence.ingest.pipeline` — :class:`IngestPipeline`: decode, validate against the plant, submit to
  the store in groups, quarantine what is refused; :class:`IngestStats` counts everything.
* :mod:`cadence.ingest.mqtt` — :class:`MqttIngest`: persistent paho subscriber, PUBACK and commit
  acknowledgement after the store's commit.
* :mod:`cadence.ingest.http` — ``ingest_router(pipeline)``: ``POST /api/v1/ingest``.
* :mod:`cadence.ingest.broker_watch` — :class:`BrokerWatch`: alarm when Mosquitto drops messages.
* :mod:`cadence.ingest.broker` — the shipped Mosquitto configuration and its rendering.
* :mod:`cadence.ingest.failpoints` — crash injection for fault tests (environment variable only).

Modules are imported where used (``from cadence.ingest.mqtt import MqttIngest``): importing the pipeline
does not pull in paho or FastAPI.
"""
