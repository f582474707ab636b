"""Stream processors: consume the event log and materialize the MongoDB read models."""
