"""Workflows: YAML specs, the DAG engine, the step cache, gates, promotion and triggers."""
