"""The backtest chart: PAI against the share of units flagged, one line per method (PNG)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

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


def knox_chart(report: Mapping[str, Any], path: Path, title: str) -> Path:
    """Heat map of the Knox ratio per (distance, time) cell; observed pairs and the ratio in
    each cell, a star where p < 0.05."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import TwoSlopeNorm

    d_edges, t_edges = report["distance_bands"], report["time_bands"]
    unit = report["time_unit"]
    ratio = np.full((len(d_edges) - 1, len(t_edges) - 1), np.nan)
    fig, ax = plt.subplots(figsize=(7.5, 4.5), dpi=120)
    for c in report["cells"]:
        i, j = d_edges.index(c["distance_from"]), t_edges.index(c["time_from"])
        ratio[i, j] = np.nan if c["ratio"] is None else c["ratio"]
        star = "*" if c["p_value"] < 0.05 else ""
        shown = "-" if c["ratio"] is None else f"{c['ratio']:.2f}{star}"
        ax.text(j, i, f"{shown}\n{c['observed']:,} pairs", ha="center", va="center", fontsize=8)
    top = max(2.0, float(np.nanmax(ratio)) if np.isfinite(ratio).any() else 2.0)
    # ratio 1 (no near repeat) in the middle of the scale, white
    norm = TwoSlopeNorm(vmin=0.0, vcenter=1.0, vmax=min(top, 4.0))
    image = ax.imshow(ratio, cmap="RdBu_r", norm=norm, aspect="auto")
    ax.set_xticks(range(len(t_edges) - 1), [_band(t_edges, j) for j in range(len(t_edges) - 1)])
    ax.set_yticks(range(len(d_edges) - 1), [_band(d_edges, i) for i in range(len(d_edges) - 1)])
    ax.set_xlabel(f"time apart ({unit}s, [from, to))")
    ax.set_ylabel("distance apart (m, [from, to))")
    ax.set_title(f"Knox ratio (observed / expected pairs): {title}\n* p < 0.05")
    fig.colorbar(image, ax=ax, label="Knox ratio")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _band(edges: Sequence[float], k: int) -> str:
    return f"{edges[k]:g}-{edges[k + 1]:g}"
