"""The Jupyter side of nbtui: no Textual import here, so it is testable without a UI."""
