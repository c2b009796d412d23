"""Simulated serial card readers on real ptys."""
