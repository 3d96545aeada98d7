"""The analysis API: `analyze(run_dirs) -> dict[str, DataFrame]`.

Tables (empty DataFrames when a section does not apply, e.g. no natural runs):
  scores            score per task x model x mechanism x budget with item-bootstrap 95 % CIs
  factor_scores     the same split by a scaling factor from item metadata (distractor count, grid size, shots)
  verdicts          the test on requested budgets (item fixed effects, CR2, Holm / BH across curves: p_adj_holm,
                    q_bh), its bend test (shape), complete cases (complete_case_*), measured length (length_*),
                    the paper's rule; `verdict` / `verdict_words` / `verdict_detail` in the shared vocabulary
                    (analysis/verdicts.py; analysis/trends.py says how)
  sweet_spot        peak budget, change point, recommended budget and how sure
  natural_rank      natural runs: score per length rank within item
  natural_quantile  natural runs: score per length quantile
  natural_verdicts  natural runs: the within-item test on measured length, worded as an association
  feature_corr      correlation of predictions (per budget) and of the truth with each input feature
  feature_variance  R^2 of predictions by causal / spurious / all features per budget (declared roles only)
  probes            per budget: truncated / unparsed / error shares and trace probes
  audit             per cell: what enforced the budget, observed tokens vs the cap, flags on inactive controls
  ledger            per sample: billed output, reported reasoning and visible answer tokens, reasoning text kind
  trajectories      forced sweeps: the answer at every cut of each (item, replicate), probe cuts included
  flips             per trajectory with a correct -> wrong flip: the cuts, the thinking span between them and the
                    trace probes on that span versus the rest (analysis/trajectories.py)
  flip_shares       per task x model: share of trajectories that flip, with item-bootstrap CIs; answer stability
  efficiency        per budget: accuracy (not-answered = wrong), OAA_t, AUC_OAA, Overthinking Score, accuracy per
                    1,000 thinking tokens, cost per correct answer, with item-bootstrap CIs; `on_frontier`
  efficiency_curves per curve at its largest budget, plus outcome efficiency / wasted token share (shared traces)
  recommendation    per curve: the recommended budget and why, or why none (analysis/recommend.py)
  runs              run label, path, samples
  warnings          weak-setup warnings (kind, task, model, warning): repeating replicates, few items, truncation
  sequential        runs made with --until-decided: per cell the design (alpha, delta, method), rounds run, items
                    used of the ceiling, the decision, why it stopped and the interval then (analysis/sequential.py);
                    for those cells `verdicts.design` is "sequential run: descriptive" (not the decision)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from ..core import budget_sort_key
from ..progress import StepProgress, quiet
from ..store import DB_NAME, Store
from .audit import audit_table, ledger_table
from .curves import GROUP, N_BOOT, score_table
from .features import feature_roles, feature_tables
from .load import FACTOR_KEYS, RunData, item_factors, load_runs
from .natural import natural_verdicts, quantile_table, rank_table
from .probes import probe_table
from .recommend import efficiency_tables
from .sequential import TABLE_COLUMNS, design_rows
from .setup_checks import setup_warnings
from .sweetspot import sweet_spot_table
from .trajectories import flip_shares, flip_table, trajectory_table
from .trends import verdict_table


def _sort_budgets(df: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    if df.empty or "budget" not in df:
        return df
    order = df["budget"].map(lambda b: budget_sort_key(b) if b != "ground truth" else (-1, 0.0))
    return df.assign(_o=order).sort_values([*keys, "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


def factor_scores(data: RunData, *, n_boot: int = N_BOOT) -> pd.DataFrame:
    """Scores split by each scaling factor that takes more than one value within a task."""
    if data.samples.empty:
        return pd.DataFrame()
    factors = item_factors(data.items)
    # only what score_table reads: the merge copies every column it is given (a million rows per factor)
    used = [c for c in dict.fromkeys(("run", *GROUP, "item_id", "status", "score", "reasoning_tokens"))
            if c in data.samples]
    samples = data.samples[used]
    parts = []
    for key in FACTOR_KEYS:
        f = factors[["run", "task", "item_id", key]].dropna()
        varying = f.groupby("task")[key].nunique()
        f = f[f["task"].isin(varying[varying > 1].index)]
        if f.empty:
            continue
        # a factor column holding NaN for other tasks arrives as float: show 3, not 3.0 (formatted per item,
        # before the merge multiplies the rows)
        f = f.assign(**{key: [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in f[key]]})
        merged = samples.merge(f, on=["run", "task", "item_id"]).rename(columns={key: "factor_value"})
        table = score_table(merged, data.metrics(), by=[*GROUP[:3], "factor_value", "budget"], n_boot=n_boot)
        parts.append(table.assign(factor=key))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def run_configs(data: RunData) -> list[dict]:
    """The stored config of each run (for the setup checks); a run without one contributes nothing."""
    configs = []
    for path in data.runs.values():
        with Store(path, create=False) as store:
            configs.append(store.meta().config or {})
    return configs


def sequential_table(data: RunData) -> pd.DataFrame:
    """The stored sequential decisions of each run made with --until-decided (empty when there is none)."""
    rows = []
    for label, path in data.runs.items():
        with Store(path, create=False) as store:
            rows += design_rows(store.meta().sequential, label)
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS)) if rows else pd.DataFrame()


ANALYSIS_STEPS = 14  # the advance() calls in analyze_data


def analyze_data(data: RunData, *, n_boot: int = N_BOOT, probes_per_group: int = 2000,
                 progress: StepProgress | None = None,
                 on_table: Callable[[str, pd.DataFrame], None] | None = None) -> dict[str, pd.DataFrame]:
    """The tables of `analyze` for loaded runs; `progress` (ANALYSIS_STEPS steps) is advanced after each table.
    `on_table(name, table)` is called as soon as the scores, factor_scores and probes tables are final (a report
    draws their figures while the analysis goes on)."""
    bar = progress or quiet()
    final = on_table or (lambda name, table: None)
    samples, metrics = data.samples, data.metrics()
    scores = pd.DataFrame() if samples.empty else score_table(samples, metrics, n_boot=n_boot)
    final("scores", scores)
    bar.advance("scores")
    controlled = samples[samples["budget"].astype(str) != "natural"] if len(samples) else samples
    controlled_scores = scores[scores["budget"].astype(str) != "natural"] if len(scores) else scores
    audit = audit_table(samples)
    bar.advance("enforcement audit")
    verdicts = (verdict_table(controlled, controlled_scores, metrics, audit=audit) if len(controlled_scores)
                else pd.DataFrame())
    bar.advance("verdicts")
    roles = feature_roles(data.tasks, sorted(samples["task"].unique())) if len(samples) else {}
    corr, variance = feature_tables(samples, data.items, roles) if len(samples) else (pd.DataFrame(),) * 2
    bar.advance("features")
    traj = trajectory_table(samples, metrics)
    bar.advance("trajectories")
    sequential = sequential_table(data)
    if len(sequential) and len(verdicts):
        cells = set(zip(sequential["task"], sequential["model"], sequential["mechanism"]))
        verdicts["design"] = ["sequential run: descriptive" if key in cells else "fixed" for key in
                              zip(verdicts["task"], verdicts["model"], verdicts["mechanism"])]
    runs = pd.DataFrame([{"run": k, "path": str(v), "samples": int((samples["run"] == k).sum())}
                         for k, v in data.runs.items()])
    tables: dict[str, pd.DataFrame] = {"scores": scores, "factor_scores": factor_scores(data, n_boot=n_boot)}
    final("factor_scores", tables["factor_scores"])
    bar.advance("factor scores")
    tables["verdicts"] = verdicts
    tables["sweet_spot"] = (sweet_spot_table(controlled, metrics, n_boot=n_boot) if len(controlled)
                            else pd.DataFrame())
    bar.advance("sweet spots")
    tables["natural_rank"] = rank_table(samples, metrics, n_boot=n_boot) if len(samples) else pd.DataFrame()
    tables["natural_quantile"] = quantile_table(samples, metrics, n_boot=n_boot) if len(samples) else pd.DataFrame()
    tables["natural_verdicts"] = natural_verdicts(samples, metrics) if len(samples) else pd.DataFrame()
    bar.advance("natural runs")
    tables["feature_corr"] = _sort_budgets(corr, ["task", "model", "mechanism", "feature"])
    tables["feature_variance"] = _sort_budgets(variance, ["task", "model", "mechanism"])
    tables["probes"] = _sort_budgets(probe_table(samples, data.items, data.runs, per_group=probes_per_group),
                                     ["task", "model", "mechanism"])
    final("probes", tables["probes"])
    bar.advance("trace probes")
    tables["audit"] = audit
    tables["ledger"] = ledger_table(samples)
    bar.advance("token ledger")
    tables["trajectories"] = traj
    tables["flips"] = flip_table(traj, data.items, data.runs)
    bar.advance("flips")
    tables["flip_shares"] = flip_shares(traj, n_boot=n_boot)
    bar.advance("flip shares")
    tables.update(efficiency_tables(samples, metrics, traj=traj, audit=audit, n_boot=n_boot))
    bar.advance("efficiency")
    tables["runs"] = runs
    tables["warnings"] = setup_warnings(samples, scores, run_configs(data))
    tables["sequential"] = sequential
    bar.advance("warnings")
    return tables


def stored_samples(run_dirs: Sequence[str | Path]) -> int:
    """How many samples the runs hold (a count, nothing loaded): decides whether progress is shown."""
    total = 0
    for path in run_dirs:
        if (Path(path) / DB_NAME).is_file():
            with Store(path, create=False) as store:
                total += store.count()
    return total


def analyze(run_dirs: Sequence[str | Path], *, n_boot: int = N_BOOT,
            probes_per_group: int = 2000) -> dict[str, pd.DataFrame]:
    """Analyse one or more run directories; see the module docstring for the tables. A DataFrame in the table
    import format goes through `overthink.analyze` (the import's row checks live above analysis). Over 100,000
    samples or more it shows progress on stderr (overthink.progress.StepProgress)."""
    with StepProgress("analyze", ANALYSIS_STEPS + 1, samples=stored_samples(run_dirs)) as bar:
        data = load_runs(run_dirs)
        bar.advance("load")
        return analyze_data(data, n_boot=n_boot, probes_per_group=probes_per_group, progress=bar)
