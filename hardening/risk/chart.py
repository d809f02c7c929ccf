"""The backtest chart: PAI against the share of units flagged, one line per method (PNG)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from hardening.risk.metrics import CURVE

STYLE = {
    "model": ("#c0392b", "-", 2.4),
    "prior_count": ("#2c3e50", "--", 1.6),
    "random": ("#999999", ":", 1.2),
}


def pai_chart(curves: Mapping[str, Sequence[float]], path: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # no display; file output only
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    shares = [100 * s for s in CURVE]
    for name, values in curves.items():
        colour, dash, width = STYLE.get(name, (None, "-", 1.4))
        ax.plot(shares, list(values), dash, color=colour, linewidth=width, label=name)
    for share in (1, 5, 10):
        ax.axvline(share, color="#bbbbbb", linewidth=0.8, zorder=0)
    ax.set_xscale("log")
    ax.set_xticks([0.5, 1, 2, 5, 10, 20, 30], labels=["0.5", "1", "2", "5", "10", "20", "30"])
    ax.set_xlabel("share of units flagged (%)")
    ax.set_ylabel("PAI (share of incidents / share of units)")
    ax.set_title(f"Backtest: {title}")
    ax.legend(frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
