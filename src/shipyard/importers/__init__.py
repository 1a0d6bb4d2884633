"""Importers: bring history from other trackers (MLflow) into Shipyard."""
