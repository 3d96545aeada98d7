"""Tables shaped like the analysis' output for every report figure, at any number of models and tasks, with long
model names (the shapes of analysis/curves.score_table, analysis/recommend.efficiency_tables, analysis/probes,
analysis/natural.rank_table and analysis/features), and a checker of a drawn figure's text boxes."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from matplotlib.transforms import Bbox

from overthink.report import figures
from overthink.report.trajectories import trajectory_figure

BUDGETS = (0, 64, 256, 1024, 4096)
TASKS = ("misleading-math", "misleading-python", "grades-regression", "bbeh-zebra-puzzles", "word-problems",
         "synthetic-misleading-alignment", "survival-instinct", "self-reported-awareness")
FEATURES = ("study_hours", "sleep_hours", "stress_level", "physical_activity_hours", "social_hours")


def long_models(n: int) -> list[str]:
    """`n` model specs as long as real ones (a server URL with a port, a dated API model)."""
    kinds = ("openai-compatible:Qwen/Qwen3-{s}B-Instruct-2507@http://127.0.0.1:80{k:02d}/v1",
             "anthropic:claude-sonnet-4-20250514-variant-{k}", "openrouter:deepseek/deepseek-r1-distill-qwen-{s}b-{k}")
    return [kinds[k % 3].format(s=(4, 8, 14, 32)[k % 4], k=k) for k in range(n)]


def _tokens(b: int, k: int, t: int) -> float:
    return 0.0 if b == 0 else b * (0.55 + 0.04 * k) + 3 * t


def curves(n_models: int, n_tasks: int) -> pd.DataFrame:
    rng = np.random.default_rng(n_models * 10 + n_tasks)
    rows = []
    for t, task in enumerate(TASKS[:n_tasks]):
        metric = "rmse" if task == "grades-regression" else "accuracy"
        for k, model in enumerate(long_models(n_models)):
            for b in BUDGETS:
                score = float(np.clip(0.8 - 0.0001 * b + rng.normal(0, 0.05), 0, 1))
                rows.append({"task": task, "model": model, "mechanism": "forced", "metric": metric, "budget": b,
                             "mean_reasoning_tokens": _tokens(b, k, t), "score": score, "ci_low": score - 0.1,
                             "ci_high": min(1.0, score + 0.1), "n_items": 40})
    return pd.DataFrame(rows)


def factors(n_models: int, n_tasks: int) -> pd.DataFrame:
    base = curves(n_models, n_tasks)
    parts = [base.assign(factor="num_distractors", factor_value=str(v), score=base["score"] * (1 - 0.05 * v),
                         n_items=12 + v) for v in (0, 3, 5)]
    return pd.concat(parts, ignore_index=True)


def ranks(n_models: int, n_tasks: int) -> pd.DataFrame:
    rows = []
    for task, model in itertools.product(TASKS[:n_tasks], long_models(n_models)):
        for rank in range(1, 6):
            rows.append({"task": task, "model": model, "mechanism": "natural", "metric": "accuracy",
                         "length_rank": rank, "score": 0.7 - 0.03 * rank, "ci_low": 0.6 - 0.03 * rank,
                         "ci_high": 0.8 - 0.03 * rank})
    return pd.DataFrame(rows)


def probes(n_models: int, n_tasks: int) -> pd.DataFrame:
    rows = []
    for t, task in enumerate(TASKS[:n_tasks]):
        for k, model in enumerate(long_models(n_models)):
            for b in BUDGETS:
                rows.append({"task": task, "model": model, "mechanism": "forced", "budget": b,
                             "distractor_engagement": 0.1 + b / 8000 if t % 2 == 0 else np.nan,
                             "share_second_guessing": 0.05 * k / max(1, n_models) + b / 9000,
                             "share_truncated": b / 10000, "share_unparsed": 0.02})
    return pd.DataFrame(rows)


def frontier(n_models: int, n_tasks: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, recs = [], []
    for t, task in enumerate(TASKS[:n_tasks]):
        for k, model in enumerate(long_models(n_models)):
            for i, b in enumerate(BUDGETS):
                acc = 0.5 + 0.05 * i - 0.02 * k
                rows.append({"task": task, "model": model, "mechanism": "forced", "budget": b,
                             "mean_thinking_tokens": _tokens(b, k, t), "accuracy": acc, "accuracy_lo": acc - 0.08,
                             "accuracy_hi": acc + 0.08, "on_frontier": i % 2 == 0})
            recs.append({"task": task, "model": model, "mechanism": "forced", "recommended_budget": BUDGETS[2]})
    return pd.DataFrame(rows), pd.DataFrame(recs)


def trajectories(n_models: int, n_tasks: int) -> pd.DataFrame:
    return pd.DataFrame([{"task": task, "model": model, "budget": b, "share_correct": 0.4 + 0.01 * k,
                          "flips_to_wrong": k % 3, "flips_to_right": 1} for task in TASKS[:n_tasks]
                         for k, model in enumerate(long_models(n_models)) for b in BUDGETS])


def feature_corr(n_models: int, task: str = "grades-regression") -> pd.DataFrame:
    rows = [{"task": task, "model": "ground truth", "mechanism": "", "budget": "ground truth", "feature": f,
             "r": 0.5 - 0.2 * j} for j, f in enumerate(FEATURES)]
    for k, model in enumerate(long_models(n_models)):
        for b in BUDGETS:
            rows += [{"task": task, "model": model, "mechanism": "forced", "budget": b, "feature": f,
                      "r": float(np.sin(k + j + b))} for j, f in enumerate(FEATURES)]
    return pd.DataFrame(rows)


# -- checking a drawn figure --------------------------------------------------------------------------------------

# every report figure kind, built from these tables at n_models x n_tasks (tests/test_figures_layout.py,
# bench/bench_figure_build.py)
FIGURES = {
    "curves": lambda m, t: figures.curve_figure(curves(m, t)),
    "factors": lambda m, t: figures.factor_figure(factors(m, t)),
    "ranks": lambda m, t: figures.rank_figure(ranks(m, t)),
    "probes": lambda m, t: figures.probes_figure(probes(m, t)),
    "frontier": lambda m, t: figures.frontier_figure(*frontier(m, t)),
    "heatmap": lambda m, _t: figures.heatmap_figure(feature_corr(m), "grades-regression"),
    "trajectories": lambda m, t: trajectory_figure(trajectories(m, t)),
}


def _drawn_ticklabels(ax, axis: str) -> list:
    """The tick labels an axis draws: with text, and at a tick inside the view limits."""
    locs = ax.get_xticks() if axis == "x" else ax.get_yticks()
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    low, high = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    span = high - low
    return [t for loc, t in zip(locs, labels)
            if t.get_text() and t.get_visible() and low - 1e-9 * span <= loc <= high + 1e-9 * span]


def _shrunk(box: Bbox, px: float = 0.75) -> Bbox:
    return Bbox.from_extents(box.x0 + px, box.y0 + px, box.x1 - px, box.y1 - px)


def layout_problems(fig) -> list[str]:
    """Every overlap of two texts (titles, axis labels, tick labels, legends), of a text with a panel's data area,
    and every text outside the canvas, in words; [] when the figure is clean."""
    fig.draw_without_rendering()  # positions as drawn, without painting the pixels
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox
    panels = [ax for ax in fig.axes if ax.axison]  # a twin axis (the trajectories' flip counts) is one too
    areas = [(f"panel {ax.get_title() or ax.get_label()!r}", ax.get_window_extent(renderer)) for ax in panels]
    texts = []
    for ax in panels:
        name = ax.get_title() or ax.get_label()
        for role, t in (("title", ax.title), ("x label", ax.xaxis.label), ("y label", ax.yaxis.label)):
            if t.get_text() and t.get_visible():
                texts.append((f"{role} of {name!r}", t.get_window_extent(renderer)))
        for axis in ("x", "y"):
            if not (ax.xaxis if axis == "x" else ax.yaxis).get_visible():  # a twin's shared axis is not drawn
                continue
            texts += [(f"{axis} tick {t.get_text()!r} of {name!r}", t.get_window_extent(renderer))
                      for t in _drawn_ticklabels(ax, axis)]
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]
    texts += [(f"legend {k}", legend.get_window_extent(renderer)) for k, legend in enumerate(legends)]
    problems = []
    for name, box in texts:
        if not (canvas.x0 - 1 <= box.x0 and box.x1 <= canvas.x1 + 1 and canvas.y0 - 1 <= box.y0
                and box.y1 <= canvas.y1 + 1):
            problems.append(f"{name} runs off the canvas ({box.bounds} outside {canvas.bounds})")
        for area_name, area in areas:
            if _shrunk(box).overlaps(area):
                problems.append(f"{name} covers the data of {area_name}")
    for (a_name, a), (b_name, b) in itertools.combinations(texts, 2):
        if _shrunk(a).overlaps(_shrunk(b)):
            problems.append(f"{a_name} overlaps {b_name}")
    return problems
