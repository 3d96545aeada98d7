"""`overthink summary` as data: the score table, the verdicts and the setup warnings of one run.

The terminal table, `--json`, `--csv` and `--fail-on` all come from `build_summary`, so they cannot disagree.
Field names are a stable interface (documented in docs/report.md, "Machine-readable summary"): add fields, never
rename them. Missing values are JSON null / an empty CSV cell, never NaN.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd

from ..analysis.audit import audit_table
from ..analysis.audit import meta as sample_meta
from ..analysis.cost import cost_tables
from ..analysis.curves import score_table
from ..analysis.efficiency import OAA_THRESHOLDS
from ..analysis.load import read_samples
from ..analysis.recommend import TOLERANCE, efficiency_tables
from ..analysis.setup_checks import setup_warnings
from ..analysis.trends import verdict_table
from ..analysis.verdicts import INVERSE, fail_on_hits
from ..errors import UserError
from ..store import Store
from ..store.lock import holder
from .provenance import provenance_line

SCHEMA = "overthink.summary/1"
SCORE_FIELDS = ("task", "model", "mechanism", "budget", "metric", "n", "n_scored", "n_items", "score", "ci_low",
                "ci_high", "ci_method", "mean_reasoning_tokens", "median_reasoning_tokens", "errors", "truncated",
                "unparsed")
VERDICT_FIELDS = ("task", "model", "mechanism", "metric", "verdict", "verdict_words", "verdict_detail", "trend",
                  "slope", "slope_low", "slope_high", "p", "scale", "detectable_change", "n_items", "paper_verdict",
                  "paper_delta", "first_budget", "last_budget", "first_score", "last_score",
                  # issue 24: the test on requested budgets, adjusted across curves, its shape and sensitivity
                  "basis", "change", "change_low", "change_high", "p_method", "p_adj_holm", "q_bh",
                  "n_curves_tested", "equivalence", "shape", "shape_p", "n_not_answered", "n_errors",
                  "complete_case_trend", "complete_case_change", "complete_case_p", "length_slope", "length_p")
# CSV: one row per score-table row, with its curve's verdict beside it.
CSV_FIELDS = (*SCORE_FIELDS, "verdict", "p", "paper_verdict")
FAIL_ON = ("inverse",)
FAIL_EXIT = 1  # `--fail-on inverse` found an inverse curve (2 stays "bad input")


@dataclass
class Summary:
    run_dir: Path
    scores: pd.DataFrame
    verdicts: pd.DataFrame
    warnings: list[str]
    audit: pd.DataFrame = field(default_factory=pd.DataFrame)  # the enforcement audit (analysis/audit.py)
    provenance: str = ""  # one line: versions, platform, how the sessions ended (sweep/provenance.py)
    sequential: dict[str, Any] | None = None  # --until-decided: the stored design and per-round decisions
    # efficiency / efficiency_curves / recommendation (analysis/recommend.efficiency_tables)
    efficiency: dict[str, pd.DataFrame] = field(default_factory=dict)
    # what the run cost per budget, per task, per model and in total (analysis/cost.cost_tables)
    cost: dict[str, Any] = field(default_factory=dict)


def build_summary(run_dir: str | Path, *, tolerance: float = TOLERANCE) -> Summary:
    """Read one run and compute its score table, verdicts (controlled budgets only) and setup warnings."""
    run_dir = Path(run_dir)
    with Store(run_dir, create=False) as store:
        # the analysis form (one query, metadata as JSON text): decoding every sample took 8 s at 120,000
        samples = read_samples(store, extra=("correct",))
        meta = store.meta()
    config, sequential, metrics = meta.config or {}, meta.sequential, meta.metrics()
    origin = provenance_line(meta.sessions, writing=holder(run_dir) is not None)
    specs = meta.model_specs()
    if samples.empty:
        return Summary(run_dir, pd.DataFrame(), pd.DataFrame(), [], provenance=origin, sequential=sequential)
    audit = audit_table(samples)
    scores = score_table(samples, metrics)
    is_controlled = scores["budget"].astype(str) != "natural"
    controlled = samples[samples["budget"].astype(str) != "natural"]
    verdicts = (verdict_table(controlled, scores[is_controlled], metrics, audit=audit) if is_controlled.any()
                else pd.DataFrame())
    warnings = list(setup_warnings(samples, scores, [config])["warning"])
    timed_out = timed_out_samples(samples)
    if timed_out:
        warnings.append(f"{timed_out} sample(s) timed out (no answer within the model's timeout_s); they are "
                        f"stored as errors and `overthink resume` retries them")
    efficiency = efficiency_tables(samples.assign(run=run_dir.name, model_id=samples["model"]), metrics,
                                   audit=audit, tolerance=tolerance)
    return Summary(run_dir, scores, verdicts, warnings, audit, origin, sequential=sequential, efficiency=efficiency,
                   cost=cost_tables(samples, specs))


def timed_out_samples(samples: pd.DataFrame) -> int:
    """Error samples whose request got no answer within the timeout (metadata.failure, sweep/record.py)."""
    column = "sample_meta" if "sample_meta" in samples else "metadata"  # read_samples' frame or Store.dataframe's
    if column not in samples:
        return 0
    errors = samples.loc[samples["status"] == "error", column]
    return int(sum(sample_meta(m).get("failure") == "timeout" for m in errors))


def _clean(value: Any) -> Any:
    """JSON-safe scalars: NaN / inf -> None, numpy numbers -> Python numbers, 64.0 budgets -> 64."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
    return value


def _records(frame: pd.DataFrame, fields: tuple[str, ...]) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    return [{f: _clean(rec.get(f)) for f in fields} for rec in frame.to_dict("records")]


EFFICIENCY_BUDGET_FIELDS = ("budget", "n", "n_items", "n_not_answered", "accuracy", "accuracy_lo", "accuracy_hi",
                            "mean_thinking_tokens", "auc_oaa", "auc_oaa_lo", "auc_oaa_hi", "token_efficiency",
                            "overthinking_score", "accuracy_per_1k", "accuracy_per_1k_lo", "accuracy_per_1k_hi",
                            "mean_cost_usd", "cost_per_correct_usd", "cost_per_correct_lo", "cost_per_correct_hi",
                            "cost_source", "on_frontier")


def _oaa(row: dict[str, Any]) -> dict[str, Any]:
    return {str(t): {"value": _clean(row.get(f"oaa_{t}")), "ci_low": _clean(row.get(f"oaa_{t}_lo")),
                     "ci_high": _clean(row.get(f"oaa_{t}_hi"))} for t in OAA_THRESHOLDS}


def efficiency_records(tables: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """Per task x model x mechanism: the literature's metrics at the largest budget (`at_budget`), every budget's
    metrics (`budgets`) and the recommended budget with its reason (docs/report.md, "Efficiency")."""
    curves = tables.get("efficiency_curves", pd.DataFrame())
    if curves.empty:
        return []
    table, recs = tables["efficiency"], tables["recommendation"]
    out = []
    for c in curves.to_dict("records"):
        key = (c["task"], c["model"], c["mechanism"])
        mask = (table["task"] == key[0]) & (table["model"] == key[1]) & (table["mechanism"] == key[2])
        rec = recs[(recs["task"] == key[0]) & (recs["model"] == key[1]) & (recs["mechanism"] == key[2])]
        rec_row = rec.iloc[0].to_dict() if len(rec) else {}
        out.append({
            "task": key[0], "model": key[1], "mechanism": key[2], "at_budget": _clean(c["at_budget"]),
            "accuracy": _clean(c["accuracy"]), "mean_thinking_tokens": _clean(c["mean_thinking_tokens"]),
            "oaa": _oaa(c), "auc_oaa": _clean(c["auc_oaa"]), "auc_oaa_ci": [_clean(c["auc_oaa_lo"]),
                                                                          _clean(c["auc_oaa_hi"])],
            "t_max": _clean(c["t_max"]), "overthinking_score": _clean(c["overthinking_score"]),
            "token_efficiency": _clean(c["token_efficiency"]),
            "outcome_efficiency": _clean(c.get("outcome_efficiency")),
            "wasted_token_share": _clean(c.get("wasted_token_share")),
            "wasted_token_share_ci": [_clean(c.get("wasted_token_share_lo")), _clean(c.get("wasted_token_share_hi"))],
            "wasted_token_share_note": c.get("wasted_note") or None,
            "cost_per_correct_usd": _clean(c["cost_per_correct_usd"]), "cost_source": c.get("cost_source"),
            "accuracy_per_1k_thinking_tokens": _clean(c["accuracy_per_1k"]),
            "recommended_budget": _clean(rec_row.get("recommended_budget")),
            "recommended_budget_reason": rec_row.get("reason"), "best_budget": _clean(rec_row.get("best_budget")),
            "tolerance": _clean(rec_row.get("tolerance")),
            "saving_tokens_share": _clean(rec_row.get("saving_tokens_share")),
            "saving_cost_share": _clean(rec_row.get("saving_cost_share")),
            "budgets": [{**{f: _clean(r.get(f)) for f in EFFICIENCY_BUDGET_FIELDS}, "oaa": _oaa(r)}
                        for r in table[mask].to_dict("records")],
        })
    return out


def summary_dict(summary: Summary) -> dict[str, Any]:
    verdicts = _records(summary.verdicts, VERDICT_FIELDS)
    return {"schema": SCHEMA, "run_dir": str(summary.run_dir), "scores": _records(summary.scores, SCORE_FIELDS),
            "verdicts": verdicts, "warnings": summary.warnings,
            "efficiency": efficiency_records(summary.efficiency),
            "cost": _cost_record(summary.cost),
            "inverse": [f"{v['task']} / {v['model']} ({v['mechanism']})" for v in verdicts
                        if v["verdict"] == INVERSE],
            # a sequential run: its decisions (design, per cell, per round); the verdicts above are descriptive
            "design": "sequential" if summary.sequential else "fixed",
            "verdicts_basis": "descriptive" if summary.sequential else "decision",
            "sequential": summary.sequential}


def _cost_record(cost: dict[str, Any]) -> dict[str, Any]:
    """The cost per budget, per task, per model and in total; USD null (never 0) where there is no price, and
    `basis` says why: stored | price table | no price (self-hosted) | price unknown (docs/report.md, "Cost")."""
    if not cost:
        return {"budgets": [], "tasks": [], "models": [], "total": None}
    return {part: ([{k: _clean(v) for k, v in r.items()} for r in cost[part]] if part != "total"
                   else {k: _clean(v) for k, v in cost[part].items()} if cost[part] else None)
            for part in ("budgets", "tasks", "models", "total")}


def write_json(summary: Summary, out: IO[str]) -> None:
    json.dump(summary_dict(summary), out, indent=2, allow_nan=False)
    out.write("\n")


def write_csv(summary: Summary, out: IO[str]) -> None:
    writer = csv.DictWriter(out, fieldnames=list(CSV_FIELDS), lineterminator="\n")
    writer.writeheader()
    by_curve = {(v["task"], v["model"], v["mechanism"]): v for v in _records(summary.verdicts, VERDICT_FIELDS)}
    for row in _records(summary.scores, SCORE_FIELDS):
        verdict = by_curve.get((row["task"], row["model"], row["mechanism"]), {})
        if str(row["budget"]) == "natural":
            verdict = {}  # verdicts compare budgets; a natural row has none
        full = {**row, "verdict": verdict.get("verdict"), "p": verdict.get("p"),
                "paper_verdict": verdict.get("paper_verdict")}
        writer.writerow({k: "" if v is None else v for k, v in full.items()})


def failing_curves(summary: Summary, fail_on: str) -> list[str]:
    """Curves whose verdict is `fail_on` ("inverse": called inverse by the calibrated test on requested budgets,
    Holm-adjusted across the run's curves so that the gate's false-alarm rate stays at 5 % for the whole run)."""
    if fail_on not in FAIL_ON:
        raise UserError(f"--fail-on {fail_on!r}: choose one of {', '.join(FAIL_ON)}")
    if summary.sequential:  # a sequential run gates on its anytime-valid decisions
        return [f"{c['task']} / {c['model']} ({c['mechanism']})" for c in summary.sequential.get("cells", [])
                if c.get("decision") == fail_on]
    if summary.verdicts.empty:
        return []
    hit = fail_on_hits(summary.verdicts, fail_on)
    return [f"{r.task} / {r.model} ({r.mechanism})" for r in hit.itertuples(index=False)]

