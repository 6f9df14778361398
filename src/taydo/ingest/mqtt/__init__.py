"""MQTT gateway: topics, payloads and the broker client."""
