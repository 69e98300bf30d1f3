"""Kafka ingest: batched consumers that validate, deduplicate and hand typed batches to a sink."""
