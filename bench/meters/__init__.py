"""Meters: power sources and board health, as context managers separate from backends."""
