"""Why a kernel died, over fake /proc, /sys and kernel-log files."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from nbtui.app.kernel.postmortem import (
    REMOTE_UNKNOWN,
    KernelLog,
    LastSeen,
    Watch,
    describe_exit,
    oom_victims,
)

MiB = 1 << 20
GiB = 1 << 30
PID = 4242


def cgroup_tree(tmp: Path, limit: int = 300 * MiB, kills: int = 0) -> tuple[Path, Path]:
    """A fake /proc where PID lives in the v1 memory cgroup /nbtui-test, and that cgroup."""
    proc = tmp / "proc"
    (proc / str(PID)).mkdir(parents=True)
    (proc / "self").mkdir()
    (proc / str(PID) / "cgroup").write_text("4:memory:/nbtui-test\n0::/\n")
    mount = tmp / "sys/fs/cgroup/memory"
    (proc / "self" / "mountinfo").write_text(
        f"35 31 0:32 / {mount} rw,relatime - cgroup cgroup rw,memory\n"
    )
    cgroup = mount / "nbtui-test"
    cgroup.mkdir(parents=True)
    (mount / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (cgroup / "memory.limit_in_bytes").write_text(f"{limit}\n")
    set_kills(cgroup, kills)
    return proc, cgroup


def set_kills(cgroup: Path, kills: int) -> None:
    (cgroup / "memory.oom_control").write_text(
        f"oom_kill_disable 0\nunder_oom 0\noom_kill {kills}\n"
    )


def kmsg_record(seq: int, message: str) -> str:
    return f"3,{seq},{seq * 1000},-;{message}\n SUBSYSTEM=memory\n"


def test_a_kill_counted_by_its_cgroup(tmp_path: Path) -> None:
    proc, cgroup = cgroup_tree(tmp_path, kills=2)
    watch = Watch(PID, proc=proc, read_kernel_log=False, host_total=64 * GiB)
    watch.observe(memory=290 * MiB, cpu=100.0, running="x = bytearray(600 << 20)", owner="alice")
    assert watch.cause(exit_status=-signal.SIGKILL).startswith("killed by SIGKILL")
    set_kills(cgroup, 3)
    assert watch.cause(exit_status=-signal.SIGKILL) == (
        "killed by the out-of-memory killer (its cgroup /nbtui-test counted a kill): "
        "cgroup /nbtui-test limit 300 MiB; last seen holding 290 MiB"
    )
    assert watch.cause() == watch.cause(exit_status=-signal.SIGKILL)
    # Whoever was killed in its cgroup, a kernel that crashed was not: it is SIGKILL.
    assert watch.cause(exit_status=-signal.SIGSEGV).startswith("killed by SIGSEGV")


def test_a_kill_named_in_the_kernel_log(tmp_path: Path) -> None:
    kmsg = tmp_path / "kmsg"
    # An old kill of a process that had the same pid long ago: before the watch, not ours.
    kmsg.write_text(kmsg_record(7, f"Out of memory: Killed process {PID} (python)"))
    proc = tmp_path / "proc"
    (proc / str(PID)).mkdir(parents=True)  # no cgroup file: only the host's memory is known
    watch = Watch(PID, proc=proc, kernel_log=KernelLog(kmsg, dmesg=None), host_total=64 * GiB)
    watch.observe(memory=60 * GiB)
    assert watch.cause() == "cause unknown (last seen holding 60.0 GiB)"
    with kmsg.open("a") as log:
        log.write(kmsg_record(8, "Out of memory: Killed process 999 (other)"))
    assert watch.cause() == "cause unknown (last seen holding 60.0 GiB)"
    with kmsg.open("a") as log:
        log.write(
            kmsg_record(
                9,
                "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,"
                f"mems_allowed=0,global_oom,task_memcg=/,task=python,pid={PID},uid=1000",
            )
        )
    assert watch.cause() == (
        "killed by the out-of-memory killer (named in the kernel log): "
        "host memory 64.0 GiB; last seen holding 60.0 GiB"
    )


def test_dmesg_when_kmsg_cannot_be_read(tmp_path: Path) -> None:
    out = tmp_path / "dmesg.txt"
    out.write_text(f"[  10.5] Out of memory: Killed process {PID} (python)\n")
    log = KernelLog(tmp_path / "no-kmsg", dmesg=("cat", str(out)))
    mark = log.mark()
    assert mark == ("dmesg", 10.5)
    assert log.since(mark) == []
    with out.open("a") as text:
        text.write(f"[  99.25] Memory cgroup out of memory: Killed process {PID} (python)\n")
    assert oom_victims(log.since(mark)) == {PID}


def test_an_unreadable_kernel_log_is_nothing(tmp_path: Path) -> None:
    log = KernelLog(tmp_path / "no-kmsg", dmesg=(sys.executable, "-c", "raise SystemExit(1)"))
    assert log.read() == ("", [])
    assert KernelLog(tmp_path / "no-kmsg", dmesg=("/nonexistent/dmesg",)).read() == ("", [])


def test_exit_statuses_of_an_own_kernel(tmp_path: Path) -> None:
    proc, _ = cgroup_tree(tmp_path)
    log = tmp_path / "kernel.log"
    log.write_text(
        "NOTE: When using the `ipython kernel` entry point...\n\n"
        "Traceback (most recent call last):\n  File ...\n"
        "ModuleNotFoundError: No module named 'ipykernel_launcher'\n\n"
    )
    watch = Watch(PID, proc=proc, log_path=log, read_kernel_log=False, host_total=64 * GiB)
    watch.observe(memory=GiB, cpu=3.0, running="")
    assert watch.cause(-signal.SIGKILL) == (
        "killed by SIGKILL; last seen holding 1.0 GiB, 3 % CPU, idle"
    )
    assert watch.cause(-signal.SIGSEGV).startswith("killed by SIGSEGV (segmentation fault);")
    assert watch.cause(1) == (
        "exited with status 1: Traceback (most recent call last): | File ... | "
        "ModuleNotFoundError: No module named 'ipykernel_launcher'"
    )
    assert watch.cause(0) == "exited (status 0)"


def test_cause_unknown_says_what_was_seen(tmp_path: Path) -> None:
    watch = Watch(PID, proc=tmp_path, read_kernel_log=False)  # the pid is not there
    assert watch.cgroup is None
    assert watch.cause() == "cause unknown"
    watch.observe(memory=int(1.2 * GiB), cpu=98.0, running="fit(model)\nmore", owner="bob")
    assert watch.cause() == (
        "cause unknown (last seen holding 1.2 GiB, 98 % CPU, running `fit(model)` (bob))"
    )
    watch.observe(cpu=99.0, running="fit(model)", owner="bob")  # memory kept
    assert watch.cause() == (
        "cause unknown (last seen holding 1.2 GiB, 99 % CPU, running `fit(model)` (bob))"
    )


def test_a_remote_kernel(tmp_path: Path) -> None:
    watch = Watch(PID, local=False, proc=tmp_path)
    assert watch.cause() == REMOTE_UNKNOWN
    watch.observe(memory=2 * GiB)
    # An exit status cannot come from a remote kernel's process; nothing here is evidence.
    assert watch.cause() == "the kernel is remote: cause unknown (last seen holding 2.0 GiB)"


def test_describe_exit_and_last_seen() -> None:
    assert describe_exit(-signal.SIGTERM) == "killed by SIGTERM (terminated)"
    assert describe_exit(-200) == "killed by signal 200"
    assert describe_exit(3) == "exited with status 3"
    long = LastSeen(running="y = " + "x" * 80, owner="\x1b[31mmallory")
    described = long.describe()
    assert described == f"last seen running `y = {'x' * 35}…` (mallory)"
