"""Workloads: what is asked of a model (prompt building and prompt sets)."""
