"""PNG charts of one bench/run result (runs in the benchmark venv, which has matplotlib).

Usage: charts.py RESULT.json  ->  RESULT-producers.png, RESULT-aggregate.png, RESULT-storage.png
"""
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def bars(ax, labels, values, title, unit):
    """Horizontal bars on a linear axis from zero; on a log axis only when the values span two
    orders of magnitude or more (the Python producers against the others)."""
    vals = [v or 0 for v in values]
    labels = [lab if v else f"{lab} (n/a)" for lab, v in zip(labels, values)]
    ax.barh(labels, vals, color=["#c0392b" if lab.startswith("spate") else "#7f8c8d" for lab in labels])
    ax.set_title(title)
    shown = [v for v in vals if v > 0]
    log = bool(shown) and max(shown) >= 100 * min(shown)
    ax.set_xlabel(f"{unit} (log)" if log else unit)
    if log:
        ax.set_xscale("log")
    for y, v in enumerate(values):
        if v:  # no label at 0: on a log axis it would sit at minus infinity
            ax.text(v, y, f" {v:,.0f}", va="center", fontsize=8)
    ax.invert_yaxis()


def main() -> int:
    path = Path(sys.argv[1])
    r = json.loads(path.read_text())
    stem = path.with_suffix("")

    pm = r["producerMedians"]
    names = list(pm)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    bars(axes[0], names, [pm[n]["recordsPerSecond"] for n in names], "Producer throughput",
         "records/s")
    bars(axes[1], names, [pm[n]["recordsPerCpuSecond"] for n in names], "Producer efficiency",
         "records per CPU-second")
    bars(axes[2], names, [pm[n]["latencyP99Ms"] for n in names], "Delivery latency p99", "ms")
    fig.tight_layout()
    fig.savefig(f"{stem}-producers.png", dpi=110)

    am = r["aggregateMedians"]
    keys = sorted(am)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    bars(ax, keys, [am[k]["recordsPerSecond"] for k in keys], "Aggregation over a pre-filled topic",
         "records/s")
    fig.tight_layout()
    fig.savefig(f"{stem}-aggregate.png", dpi=110)

    st = r["storage"]
    labels = [f"{s['format']} / {s['compression']}" for s in st] + ["reference guess"]
    values = [s["bytesPerRecord"] for s in st] + [r["reference"]["bytesPerRecord"]]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    bars(ax, labels, values, "Bytes per record in the broker's log (one replica)", "bytes")
    fig.tight_layout()
    fig.savefig(f"{stem}-storage.png", dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
