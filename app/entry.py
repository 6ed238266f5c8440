"""The `nbtui` and `jupyter nbtui` commands: the collector off while nbtui starts.

Startup makes hundreds of thousands of objects that live as long as the process (modules,
classes, widgets, styles), and the cyclic garbage collector walked them again and again
as they came: about a tenth of the import time. It stays off until the console's first
frame, where `NbtuiApp` collects once, freezes what startup made (`gc.freeze`) and turns
it back on. A picker, which may stay up for long, turns it on before it shows
(`collector_on`); a short run that shows no console (`--list`, an error) ends with it off.
"""

from __future__ import annotations

import gc

__all__ = ["collector_on", "main"]


def collector_on() -> None:
    """Turn the collector back on (startup is over, or this run shows no console)."""
    gc.enable()


def main() -> int:
    """Entry point: `nbtui.app.main.main` with the collector off while it starts."""
    gc.disable()
    from nbtui.app.main import main as run  # noqa: PLC0415 - imported with the collector off

    return run()
