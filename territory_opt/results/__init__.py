"""The human side of a run: output tables, territory shapes, what changed and why, explanations, the report and
the map."""
