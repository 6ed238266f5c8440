"""How much memory a local kernel may really use: its cgroup's limit, else the host's.

A kernel in a container or a batch job's cgroup is killed by the out-of-memory killer
when its cgroup reaches its limit, however much the host has free: a share of the host's
memory would say 10 % until the moment it dies. So the limit is looked up where the
kernel's process lives:

- `/proc/PID/cgroup` names the process's cgroup per hierarchy: `4:memory:/x` (v1, the
  memory controller) or `0::/x` (v2, the unified hierarchy).
- `/proc/self/mountinfo` says where that hierarchy is mounted here (and from which root,
  inside a container), so `/x` becomes a directory under `/sys/fs/cgroup`.
- v1 has `memory.limit_in_bytes`, v2 `memory.max` ("max" for none); an ancestor's limit
  binds too, so the smallest on the way up to the mount is the one that counts.

A "limit" at or above the host's memory binds nothing (v1 writes 2^63 rounded to a page
for none): then the host's memory is the limit. Everything is plain file reads, a
millisecond; any file that cannot be read leaves that source out, it never raises.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import psutil

from nbtui.app.kernel.units import format_bytes

__all__ = [
    "CgroupRef",
    "MemoryLimit",
    "cgroup_limit",
    "memory_cgroup",
    "memory_limit",
]

LimitSource = Literal["cgroup", "host"]


@dataclass(frozen=True)
class CgroupRef:
    """A process's memory cgroup, and where its files are on this machine."""

    version: Literal[1, 2]
    path: str
    """As `/proc/PID/cgroup` names it, e.g. "/process_api/abc"."""
    directory: Path
    """Its directory under the hierarchy's mount, e.g. /sys/fs/cgroup/memory/process_api/abc."""
    mount: Path
    """The hierarchy's mount point: the walk up for an ancestor's limit stops there."""

    def read(self, name: str) -> str | None:
        """One file of this cgroup, stripped; None if it cannot be read."""
        with contextlib.suppress(OSError, UnicodeDecodeError):
            return (self.directory / name).read_text().strip()
        return None

    def oom_kills(self) -> int | None:
        """How many processes the out-of-memory killer has killed in this cgroup (v1
        `memory.oom_control`, v2 `memory.events`: `oom_kill N`, kernel >= 4.13)."""
        text = self.read("memory.oom_control" if self.version == 1 else "memory.events")
        if text is None:
            return None
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                with contextlib.suppress(ValueError):
                    return int(value)
        return None

    def usage(self) -> int | None:
        """The cgroup's charged memory in bytes (page cache included, as the limit counts it)."""
        text = self.read("memory.usage_in_bytes" if self.version == 1 else "memory.current")
        return _int(text)


@dataclass(frozen=True)
class MemoryLimit:
    """The most memory the kernel can hold before the out-of-memory killer comes."""

    limit: int | None
    """Bytes; None when neither a cgroup limit nor the host's memory could be read."""
    source: LimitSource
    cgroup: str | None = None
    """The cgroup whose limit binds (source "cgroup"), e.g. "/x"."""

    def describe(self) -> str:
        """ "cgroup /x limit 16 GiB" or "host memory 23.5 GiB"."""
        if self.source == "cgroup":
            return f"cgroup {self.cgroup} limit {format_bytes(self.limit or 0)}"
        if self.limit is None:
            return "host memory"
        return f"host memory {format_bytes(self.limit)}"

    def share(self, used: int | None) -> float | None:
        """used / limit, or None when either is unknown."""
        if used is None or not self.limit:
            return None
        return used / self.limit


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal.
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def _mounts(mountinfo: Path) -> list[tuple[int, str, Path]]:
    """(cgroup version, root within the hierarchy, mount point) of every memory cgroup mount."""
    found: list[tuple[int, str, Path]] = []
    try:
        text = mountinfo.read_text()
    except (OSError, UnicodeDecodeError):
        return found
    for line in text.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        dash = fields.index("-")
        if dash < 5 or len(fields) < dash + 3:
            continue
        root, point = _unescape(fields[3]), Path(_unescape(fields[4]))
        fstype, options = fields[dash + 1], fields[dash + 3].split(",")
        if fstype == "cgroup2":
            found.append((2, root, point))
        elif fstype == "cgroup" and "memory" in options:
            found.append((1, root, point))
    return found


def memory_cgroup(
    pid: int, *, proc: Path = Path("/proc"), mountinfo: Path | None = None
) -> CgroupRef | None:
    """The memory cgroup of process `pid`, or None (no such process, no cgroups, or
    its hierarchy is not mounted here). v1's memory controller wins over v2 where both
    are mounted (a hybrid host): that is the one that limits memory there.

    Args:
        pid: The process.
        proc: Where procfs is (tests pass a fake tree).
        mountinfo: Where to look for the mounts; `proc`/self/mountinfo by default (the
            mounts as this process sees them, which is where the files are read).
    """
    try:
        lines = (proc / str(pid) / "cgroup").read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    v1: str | None = None
    v2: str | None = None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if "memory" in controllers.split(","):
            v1 = path
        elif hierarchy == "0" and controllers == "":
            v2 = path
    mounts = _mounts(mountinfo if mountinfo is not None else proc / "self" / "mountinfo")
    for version, named in ((1, v1), (2, v2)):
        if named is None:
            continue
        for mount_version, root, point in mounts:
            if mount_version != version:
                continue
            relative = _relative(named, root)
            if relative is None:
                continue
            directory = point / relative if relative else point
            if directory.is_dir():
                return CgroupRef(
                    version=1 if version == 1 else 2, path=named, directory=directory, mount=point
                )
    return None


def _relative(path: str, root: str) -> str | None:
    """`path` below the mount's `root`, without a leading slash; None if outside it.

    Inside a container without its own cgroup namespace, /proc says "/docker/abc/x"
    while the mount's root is "/docker/abc"; with one, /proc says "/x" and the root "/".
    """
    path, root = path.rstrip("/") or "/", root.rstrip("/") or "/"
    if root == "/":
        return path.lstrip("/")
    if path == root:
        return ""
    if path.startswith(root + "/"):
        return path[len(root) + 1 :]
    # A cgroup namespace: /proc names the path from the namespace's root, which is the mount's.
    return path.lstrip("/")


def _limit_file(ref: CgroupRef, directory: Path) -> int | None:
    name = "memory.limit_in_bytes" if ref.version == 1 else "memory.max"
    try:
        text = (directory / name).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if text == "max":
        return None
    return _int(text)


def _host_total() -> int | None:
    with contextlib.suppress(psutil.Error, OSError):
        return int(psutil.virtual_memory().total)
    return None


def cgroup_limit(ref: CgroupRef, host_total: int | None) -> tuple[int, str] | None:
    """The binding limit on the way from `ref` up to its mount: (bytes, that cgroup's
    path), or None when none binds below the host's memory."""
    best: tuple[int, str] | None = None
    directory, path = ref.directory, ref.path.rstrip("/") or "/"
    while True:
        value = _limit_file(ref, directory)
        binds = value is not None and (host_total is None or value < host_total)
        if binds and value is not None and (best is None or value < best[0]):
            best = (value, path)
        if directory in (ref.mount, directory.parent) or path == "/":
            break
        directory = directory.parent
        path = path.rsplit("/", 1)[0] or "/"
    return best


def memory_limit(
    pid: int | None,
    *,
    proc: Path = Path("/proc"),
    mountinfo: Path | None = None,
    host_total: int | None = None,
) -> MemoryLimit:
    """The memory limit of a local kernel's process: its cgroup's, else the host's.

    Blocking (file reads, about a millisecond): call it in a thread from the event loop,
    or once when the kernel's pid is learnt (a kernel does not change cgroup).

    Args:
        pid: The kernel's process; None: only the host's memory is known.
        proc: Where procfs is (tests pass a fake tree).
        mountinfo: Where the mounts are listed; `proc`/self/mountinfo by default.
        host_total: The host's memory in bytes; psutil's by default.
    """
    total = host_total if host_total is not None else _host_total()
    ref = memory_cgroup(pid, proc=proc, mountinfo=mountinfo) if pid is not None else None
    if ref is not None:
        found = cgroup_limit(ref, total)
        if found is not None:
            return MemoryLimit(limit=found[0], source="cgroup", cgroup=found[1])
    return MemoryLimit(limit=total, source="host")
