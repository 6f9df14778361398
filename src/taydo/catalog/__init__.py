"""Catalog: agencies, datasets, entities, metrics."""
