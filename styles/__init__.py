"""Textual CSS for nbtui, shipped as package data."""
