"""nbtui: a terminal console that several people share on one running Jupyter kernel."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    # The distribution's name, not the import name: `nbtui` on the package index is
    # another project, which may well be installed next to this one.
    __version__ = version("jupyter-nbtui")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
