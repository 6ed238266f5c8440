"""nbtui's widgets, one per file."""
