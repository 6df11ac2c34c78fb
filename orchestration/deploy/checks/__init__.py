"""Offline checks of the rendered deploy plan."""
