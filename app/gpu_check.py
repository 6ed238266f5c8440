"""`python -m nbtui.app.gpu_check [PID]`: what the resource pane's GPU lines would show for
the local kernel with that pid (or with none), to check NVML on a real GPU box."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from nbtui.app.kernel.gpu import GpuSampler
from nbtui.app.present import gpu_column, gpu_lines, idle_holder_warning

__all__ = ["main"]


def main(argv: Iterable[str] | None = None) -> int:
    """Print the pane's GPU lines, then the `--list` cell and the idle warning as it
    would read after two idle hours (for a pid)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and not args[0].isdigit()):
        print("usage: python -m nbtui.app.gpu_check [PID]", file=sys.stderr)
        return 2
    pid = int(args[0]) if args else None
    sampler = GpuSampler()
    try:
        snapshot = sampler.sample(pid)
    finally:
        sampler.close()
    for line in gpu_lines(snapshot):
        print(line)
    if pid is not None and snapshot.devices:
        print(f"--list GPU column: {gpu_column(snapshot)}")
        warning = idle_holder_warning(7200.0, snapshot, at_least=1)
        print(f"if idle 2 h: {warning or 'no warning (the kernel holds no GPU memory)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
