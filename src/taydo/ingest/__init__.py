"""Ingestion gateways (HTTP, MQTT, NGSI-LD, files), pull connectors, quarantine, data health."""
