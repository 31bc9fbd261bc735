"""Run folders, the versioned result schema, environment metadata."""
