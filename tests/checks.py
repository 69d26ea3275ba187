"""What the integration test scripts share: check() prints and collects the outcome of one
assertion without stopping the script (a run reports every failure, not the first), and
run_named() is the command line of a script whose test cases are named functions that return
their failures (`script.py --spate build/spate CASE`)."""
import argparse
import sys

FAILURES = []


def check(cond: bool, what: str) -> bool:
    print(("  ok    " if cond else "  FAIL  ") + what)
    if not cond:
        FAILURES.append(what)
    return cond


def run_named(tests: dict, what: str, ok: str = "OK", oks: dict | None = None) -> int:
    """Runs the case named on the command line: tests[name](spate) returns a list of failures.
    Prints them and a last line (oks[name], or ok, when none); returns the exit status."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--spate", required=True)
    ap.add_argument("test", choices=sorted(tests))
    a = ap.parse_args()
    fails = tests[a.test](a.spate)
    for f in fails:
        print("FAIL:", f)
    print(f"{what} {a.test}: " + ("FAILED" if fails else (oks or {}).get(a.test, ok)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit("a module of the test scripts, not a test")
