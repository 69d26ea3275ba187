#!/usr/bin/env python3
"""bench/run's measurements of a command (bench/harness/runner.py), without services.

Peak RSS is the command's own: this process holds 512 MiB while it measures a small command
(Linux carries ru_maxrss across exec, so a command forked from here would report at least
that), then a command that itself touches 300 MiB. Exit codes and timeouts come through.
"""
import argparse
import sys
import tempfile
from pathlib import Path

from checks import FAILURES, check

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from harness import runner  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--spate", help="unused: the harness measures any command")
    ap.parse_args()
    held = bytearray(512 << 20)
    for i in range(0, len(held), 4096):
        held[i] = 1
    py = sys.executable
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        small = runner.measure([py, "-c", "pass"], work, "small", 60)
        check(small.rc == 0, f"a small command exits 0 (got {small.rc})")
        check(0 < small.maxrss < 128 << 20,
              f"a small command's peak RSS is its own: {small.maxrss >> 20} MiB, not the "
              "harness's 512 MiB")
        big = runner.measure([py, "-c", "b = bytearray(300 << 20)\n"
                              "for i in range(0, len(b), 4096): b[i] = 1"], work, "big", 60)
        check(big.rc == 0, f"a 300 MiB command exits 0 (got {big.rc})")
        check(300 << 20 <= big.maxrss < 512 << 20,
              f"a command that touches 300 MiB peaks at {big.maxrss >> 20} MiB")
        check(big.cpu > 0, f"its CPU seconds are counted ({big.cpu:.3f})")
        failing = runner.measure([py, "-c", "import sys; sys.exit(3)"], work, "failing", 60)
        check(failing.rc == 3, f"an exit code comes through (got {failing.rc})")
        check(0 < failing.maxrss < 128 << 20,
              f"and a failed command's peak RSS too ({failing.maxrss >> 20} MiB)")
        slow = runner.measure(["sleep", "30"], work, "slow", 1)
        check(slow.timed_out and slow.rc != 0,
              f"a command past its timeout is killed (rc {slow.rc}, timed out {slow.timed_out})")
    del held
    print(f"{len(FAILURES)} failure(s)" if FAILURES else "all harness checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
