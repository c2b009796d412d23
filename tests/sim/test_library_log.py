"""The demo keeps libosdp's own log lines (written by C to descriptor 2) out of its progress on the terminal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHILD = """
import logging, os, sys
from pathlib import Path
from sim.cli import c_library_log
with c_library_log(Path(sys.argv[1])):
    os.write(2, b"OSDP: CP: PD-1: [ERROR] Invalid MAC\\n")  # what libosdp's C code does
    print("progress line", file=sys.stderr)
    logging.getLogger("gate.sync").warning("sync failed, retry in 1 s")
print("after the demo", file=sys.stderr)
os.write(2, b"descriptor 2 is the terminal again\\n")
"""


def test_c_library_lines_go_to_the_log_and_python_messages_stay_on_the_terminal(tmp_path: Path) -> None:
    log = tmp_path / "var" / "demo-libosdp.log"
    result = subprocess.run([sys.executable, "-c", CHILD, str(log)], capture_output=True, text=True, check=True)
    terminal = result.stderr.splitlines()
    assert terminal == [
        "progress line",
        "sync failed, retry in 1 s",
        "after the demo",
        "descriptor 2 is the terminal again",
    ]
    assert log.read_text() == "OSDP: CP: PD-1: [ERROR] Invalid MAC\n"
