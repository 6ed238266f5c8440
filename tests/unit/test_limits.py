"""The kernel's memory limit, over fake /proc and /sys trees and over this machine's."""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from nbtui.app.kernel.limits import memory_cgroup, memory_limit

GiB = 1 << 30
HOST = 64 * GiB
V1_NONE = "9223372036854771712"
"""What v1's memory.limit_in_bytes says when nothing is set (2^63 rounded to a page)."""


def fake_tree(
    tmp: Path, cgroup: str, mounts: list[tuple[str, str, str, str]], pid: int = 4242
) -> Path:
    """/proc with one process's cgroup file and a mountinfo listing `mounts` as
    (root, mount point under tmp, fstype, super options)."""
    proc = tmp / "proc"
    (proc / str(pid)).mkdir(parents=True)
    (proc / "self").mkdir()
    (proc / str(pid) / "cgroup").write_text(cgroup)
    lines = [
        f"{30 + n} 25 0:{40 + n} {root} {tmp / point} rw,nosuid - {fstype} cgroup {options}"
        for n, (root, point, fstype, options) in enumerate(mounts)
    ]
    lines.insert(0, "25 1 0:22 / /sys rw,nosuid - sysfs sysfs rw")
    (proc / "self" / "mountinfo").write_text("\n".join(lines) + "\n")
    return proc


def write(directory: Path, **files: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name.replace("_", ".", 1)).write_text(text + "\n")


V1_CGROUP = "12:pids:/\n4:memory:/jobs/alice\n1:name=systemd:/\n0::/\n"
V1_MOUNTS = [
    ("/", "sys/fs/cgroup/memory", "cgroup", "rw,memory"),
    ("/", "sys/fs/cgroup/unified", "cgroup2", "rw,nsdelegate"),
]


def test_v1_limit_of_the_cgroup(tmp_path: Path) -> None:
    proc = fake_tree(tmp_path, V1_CGROUP, V1_MOUNTS)
    memory = tmp_path / "sys/fs/cgroup/memory"
    write(memory, memory_limit_in_bytes=V1_NONE)
    write(memory / "jobs", memory_limit_in_bytes=V1_NONE)
    write(memory / "jobs/alice", memory_limit_in_bytes=str(16 * GiB))
    limit = memory_limit(4242, proc=proc, host_total=HOST)
    assert (limit.limit, limit.source, limit.cgroup) == (16 * GiB, "cgroup", "/jobs/alice")
    assert limit.describe() == "cgroup /jobs/alice limit 16.0 GiB"
    assert limit.share(4 * GiB) == 0.25


def test_v1_an_ancestors_smaller_limit_binds(tmp_path: Path) -> None:
    proc = fake_tree(tmp_path, V1_CGROUP, V1_MOUNTS)
    memory = tmp_path / "sys/fs/cgroup/memory"
    write(memory, memory_limit_in_bytes=V1_NONE)
    write(memory / "jobs", memory_limit_in_bytes=str(8 * GiB))
    write(memory / "jobs/alice", memory_limit_in_bytes=V1_NONE)
    assert memory_limit(4242, proc=proc, host_total=HOST).describe() == "cgroup /jobs limit 8.0 GiB"


def test_v1_no_limit_is_the_hosts_memory(tmp_path: Path) -> None:
    proc = fake_tree(tmp_path, V1_CGROUP, V1_MOUNTS)
    memory = tmp_path / "sys/fs/cgroup/memory"
    write(memory, memory_limit_in_bytes=V1_NONE)
    write(memory / "jobs/alice", memory_limit_in_bytes=str(HOST * 2))  # binds nothing
    limit = memory_limit(4242, proc=proc, host_total=HOST)
    assert (limit.limit, limit.source) == (HOST, "host")
    assert limit.describe() == "host memory 64.0 GiB"


def test_v1_counts_and_usage(tmp_path: Path) -> None:
    proc = fake_tree(tmp_path, V1_CGROUP, V1_MOUNTS)
    write(
        tmp_path / "sys/fs/cgroup/memory/jobs/alice",
        memory_oom_control="oom_kill_disable 0\nunder_oom 0\noom_kill 3",
        memory_usage_in_bytes=str(GiB),
    )
    ref = memory_cgroup(4242, proc=proc)
    assert ref is not None and ref.version == 1
    assert (ref.oom_kills(), ref.usage()) == (3, GiB)


def test_v2_memory_max(tmp_path: Path) -> None:
    proc = fake_tree(
        tmp_path,
        "0::/user.slice/user-1000.slice/session-3.scope\n",
        [("/", "sys/fs/cgroup", "cgroup2", "rw,nsdelegate,memory_recursiveprot")],
    )
    root = tmp_path / "sys/fs/cgroup"
    write(root)
    write(root / "user.slice", memory_max="max")
    write(root / "user.slice/user-1000.slice", memory_max=str(12 * GiB))
    write(
        root / "user.slice/user-1000.slice/session-3.scope",
        memory_max="max",
        memory_events="low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\noom_group_kill 0",
        memory_current=str(GiB // 2),
    )
    limit = memory_limit(4242, proc=proc, host_total=HOST)
    assert limit.describe() == "cgroup /user.slice/user-1000.slice limit 12.0 GiB"
    ref = memory_cgroup(4242, proc=proc)
    assert ref is not None and ref.version == 2
    assert (ref.oom_kills(), ref.usage()) == (1, GiB // 2)


def test_v2_inside_a_container_with_its_own_cgroup_namespace(tmp_path: Path) -> None:
    # /proc says "/" (the namespace's root); the mount's root is the container's cgroup.
    proc = fake_tree(tmp_path, "0::/\n", [("/docker/abc", "sys/fs/cgroup", "cgroup2", "rw")], pid=1)
    write(tmp_path / "sys/fs/cgroup", memory_max=str(2 * GiB))
    assert memory_limit(1, proc=proc, host_total=HOST).describe() == "cgroup / limit 2.0 GiB"


def test_v1_inside_a_container_without_a_cgroup_namespace(tmp_path: Path) -> None:
    # /proc names the host's path; the mount shows only the container's part of it.
    proc = fake_tree(
        tmp_path,
        "4:memory:/docker/abc\n",
        [("/docker/abc", "sys/fs/cgroup/memory", "cgroup", "rw,memory")],
    )
    write(tmp_path / "sys/fs/cgroup/memory", memory_limit_in_bytes=str(3 * GiB))
    assert memory_limit(4242, proc=proc, host_total=HOST).describe() == (
        "cgroup /docker/abc limit 3.0 GiB"
    )


def test_no_process_no_cgroups_or_no_pid_is_the_host(tmp_path: Path) -> None:
    proc = fake_tree(tmp_path, V1_CGROUP, [])  # nothing mounted
    assert memory_limit(4242, proc=proc, host_total=HOST).describe() == "host memory 64.0 GiB"
    assert memory_limit(999, proc=proc, host_total=HOST).source == "host"
    assert memory_limit(None, proc=proc, host_total=HOST).source == "host"
    assert memory_cgroup(4242, proc=proc) is None


def test_this_machine() -> None:
    limit = memory_limit(os.getpid())
    assert limit.limit is not None and limit.limit > 0
    assert limit.limit <= psutil.virtual_memory().total
    if limit.source == "host":
        assert limit.limit == psutil.virtual_memory().total
        assert limit.describe().startswith("host memory ")
    else:
        assert limit.describe().startswith(f"cgroup {limit.cgroup} limit ")
    ref = memory_cgroup(os.getpid())
    if Path("/sys/fs/cgroup").is_dir() and Path("/proc/self/cgroup").read_text().strip():
        assert ref is not None and ref.directory.is_dir()
        assert ref.usage() is not None
