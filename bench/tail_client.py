"""The least a client drawn in tmux can do: a calibration for the flood benchmark.

Reads one cell per line from the terminal (the tty echoes it), runs it, and after each
stream message writes only the last screenful of lines, as a full-screen client that
draws just what is visible would, but with no framework, no parsing and no layout. Its
time to MARK-END is what the benchmark's method (a tmux keystroke, the pane polled every
10 ms) adds to the raw client by itself.

    python bench/tail_client.py CONNECTION_FILE
"""

from __future__ import annotations

import sys

from jupyter_client import BlockingKernelClient

ROWS = 48
"""Lines written per stream message: one screen of a 200x50 pane."""


def main(connection_file: str) -> int:
    """Run cells read from stdin until end of file, writing each stream message's last
    ROWS lines; the exit status (0)."""
    kc = BlockingKernelClient(connection_file=connection_file)
    kc.load_connection_file()
    kc.start_channels()
    kc.wait_for_ready(timeout=30)
    out = sys.stdout
    try:
        while True:
            out.write("tail-ready> ")
            out.flush()
            line = sys.stdin.readline()
            if not line:
                return 0
            msg_id = kc.execute(line)
            tail = ""
            while True:
                msg = kc.get_iopub_msg()
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                kind = msg["msg_type"]
                if kind == "stream":
                    text = tail + msg["content"]["text"]
                    lines = text.split("\n")
                    tail = lines[-1]
                    out.write("\n".join(lines[-ROWS - 1 : -1]) + "\n")
                    out.flush()
                elif kind == "status" and msg["content"]["execution_state"] == "idle":
                    break
    finally:
        kc.stop_channels()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
