"""The report's answer-trajectory section: one figure (share correct at each cut, with flip counts), the flip
shares with CIs and the three most telling flip examples (analysis/trajectories.py computes them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from matplotlib.ticker import MaxNLocator

from ..analysis.trajectories import cut_curve
from .text import fmt_delta, fmt_num, fmt_score, missing

EXAMPLE_CHARS = 1200  # span text shown per example (the review app shows the whole trace)


def trajectory_figure(curve: pd.DataFrame):
    """Per task: share of trajectories correct at each budget cut (lines), flips into that cut (bars); one legend
    below the panels, a model in one colour everywhere (report/figures.py lays it out)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from .figures import NAME_WIDTH, freeze, panels, plain, series_styles, shared_legend
    from .names import short_names

    tasks = list(dict.fromkeys(curve["task"]))
    models = list(dict.fromkeys(curve["model"]))
    names = short_names([str(m) for m in models], NAME_WIDTH)
    styles = series_styles(models)
    labels = [plain(f"correct: {names[str(m)]}") for m in models] + ["flips correct -> wrong",
                                                                     "flips wrong -> correct"]
    handles = [Line2D([], [], **styles[m]) for m in models] + [Patch(color="tab:red", alpha=0.35),
                                                                Patch(color="tab:green", alpha=0.35)]
    fig, axes, ncol = panels(len(tasks), legend=labels)
    for ax, task in zip(axes, tasks):
        sub = curve[curve["task"] == task]
        here = list(dict.fromkeys(sub["model"]))
        width = 0.8 / (2 * max(1, len(here)))
        ax2 = ax.twinx()
        for k, (model, line) in enumerate(sub.groupby("model", sort=False)):
            x = list(range(len(line)))
            ax.plot(x, line["share_correct"], **styles[model])
            off = (2 * k) * width - 0.4 + width / 2
            ax2.bar([i + off for i in x], line["flips_to_wrong"], width, alpha=0.35, color="tab:red")
            ax2.bar([i + off + width for i in x], line["flips_to_right"], width, alpha=0.35, color="tab:green")
        if here:  # the last model's budget cuts name the ticks (setting them per model drew the same)
            ax.set_xticks(x, [str(int(b)) if float(b).is_integer() else str(b) for b in line["budget"]])
        ax2.set_ylabel("flips into this cut")
        ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("budget cut (thinking tokens)")
        ax.set_ylabel("share correct")
        ax.set_title(plain(task))
        ax.grid(alpha=0.3)
    shared_legend(fig, handles, labels, ncol)  # below the panels, outside the data
    freeze(fig)
    return fig


def _ci(r: dict[str, Any], name: str) -> str:
    lo, hi = r[f"{name}_lo"], r[f"{name}_hi"]
    ci = "" if missing(lo) or missing(hi) else f" ({fmt_score(lo, 'accuracy')} to {fmt_score(hi, 'accuracy')})"
    return fmt_score(r[name], "accuracy") + ci


def _baseline(r: dict[str, Any], name: str) -> str:
    """The share expected with each trajectory's cut order shuffled, and the excess over it with its CI."""
    lo, hi = r.get(f"{name}_excess_lo"), r.get(f"{name}_excess_hi")
    ci = "" if missing(lo) or missing(hi) else (f" ({fmt_delta(lo, 'accuracy').removesuffix(' points')} to "
                                                f"{fmt_delta(hi, 'accuracy')})")
    return (f"{fmt_score(r.get(f'{name}_shuffled'), 'accuracy')} / {fmt_delta(r.get(f'{name}_excess'), 'accuracy')}"
            + ci)


def trajectory_context(t: dict[str, pd.DataFrame], add: Callable[..., None]) -> dict[str, Any]:
    """The template's `trajectories` value (None when no run has forced-budget trajectories); its figure goes to
    `add(name, builder, *tables)` (report/drawing.Drawer.add)."""
    traj, shares, flips = t.get("trajectories"), t.get("flip_shares"), t.get("flips")
    if traj is None or traj.empty or shares is None or shares.empty:
        return {"trajectories": None}
    add("trajectories", trajectory_figure, cut_curve(traj))
    rows = [[r["task"], r["model"], r["design"], str(r["n_trajectories"]), str(r["n_items"]),
             _ci(r, "share_correct_to_wrong"), _baseline(r, "share_correct_to_wrong"),
             _ci(r, "share_wrong_to_correct"), _baseline(r, "share_wrong_to_correct"), _ci(r, "share_lost"),
             fmt_num(r["mean_settled_at"], 0), fmt_num(r["mean_stability_tokens"], 0)]  # tokens: whole numbers
            for r in shares.to_dict("records")]
    examples = []
    for r in (flips.head(3).to_dict("records") if flips is not None else []):
        text = str(r["span_text"] or "")
        examples.append({**r, "span_shown": text[:EXAMPLE_CHARS], "span_cut": len(text) > EXAMPLE_CHARS,
                         "engage": {True: "yes", False: "no"}.get(r["span_engages"], "-"),
                         "rest_engage": {True: "yes", False: "no"}.get(r["rest_engages"], "-"),
                         "span_markers": fmt_num(r["span_markers_per_1k"]),
                         "rest_markers": fmt_num(r["rest_markers_per_1k"])})
    designs = sorted(set(shares["design"]))
    return {"trajectories": {
        "table": {"header": ["task", "model", "design", "trajectories", "items", "correct -> wrong",
                             "correct -> wrong with cut order shuffled / excess", "wrong -> correct",
                             "wrong -> correct with cut order shuffled / excess", "right, then wrong at the end",
                             "settled at (tokens)",
                             "thinking after settled (tokens)"], "rows": rows},
        "examples": examples, "paired": "shared" in " ".join(designs), "designs": designs}}
