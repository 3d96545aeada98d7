"""Figures: score vs measured mean reasoning tokens, one panel per task, one line per (model, mechanism)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

METRIC_LABELS = {"accuracy": "accuracy", "rmse": "RMSE (lower is better)",
                 "matching_behavior": "% answers matching the behaviour"}


def curve_figure(table: pd.DataFrame):
    """A matplotlib Figure of the curves in a score table (see analysis.curves.score_table)."""
    tasks = list(dict.fromkeys(table["task"]))
    cols = min(3, len(tasks))
    rows = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        sub = table[table["task"] == task]
        metric = sub["metric"].iloc[0]
        for (model, mech), line in sub.groupby(["model", "mechanism"], sort=False):
            x = line["mean_reasoning_tokens"].fillna(0)
            y = line["score"]
            err = [(y - line["ci_low"]).clip(lower=0).fillna(0), (line["ci_high"] - y).clip(lower=0).fillna(0)]
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=f"{model} ({mech})")
            for xi, yi, b in zip(x, y, line["budget"]):
                ax.annotate(f"B={b}", (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=7, alpha=0.7)
        ax.set_xscale("symlog", linthresh=16)
        ax.set_xlabel("mean reasoning tokens (measured)")
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
        if metric != "rmse":
            ax.set_ylim(-0.03, 1.03)
        ax.set_title(task)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def save_curves(table: pd.DataFrame, out_dir: str | Path, name: str = "curves",
                formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Write the curve figure in each format; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fig = curve_figure(table)
    paths = []
    for fmt in formats:
        path = out / f"{name}.{fmt}"
        fig.savefig(path, dpi=150)
        paths.append(path)
    plt.close(fig)
    return paths
