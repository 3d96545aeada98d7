"""Spurious features (grades-regression and any task whose items carry `features` in their metadata).

Per budget: Pearson correlation of the model's predictions with each input feature, next to the correlation of the
ground truth with the same feature. When the task declares `causal_features` / `spurious_features` (the synthetic
variant), the share of prediction variance explained (R^2) by causal features, by spurious ones, and by both.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..errors import UserError
from ..tasks import get_task

# Text feature values with a natural order (data, not code).
ORDINAL = {"low": 0.0, "moderate": 1.0, "medium": 1.0, "high": 2.0, "no": 0.0, "yes": 1.0,
           "false": 0.0, "true": 1.0}
KEYS = ["task", "model", "mechanism"]


def _numeric(values: pd.Series) -> pd.Series:
    num = pd.to_numeric(values, errors="coerce")
    if num.notna().sum() >= values.notna().sum():
        return num
    text = values.astype(str).str.strip().str.lower()
    mapped = text.map(ORDINAL)
    if mapped.notna().all():
        return mapped.astype(float)
    # Two unordered categories (e.g. gender) as 0/1; more than two have no single number: leave them out.
    cats = sorted(text.unique())
    return text.map({c: float(i) for i, c in enumerate(cats)}) if len(cats) == 2 else pd.Series(np.nan, values.index)


def feature_frame(items: pd.DataFrame) -> pd.DataFrame:
    """run, task, item_id, truth and one numeric column per feature, for items that have `features`."""
    rows = []
    for it in items.itertuples(index=False):
        feats = it.metadata.get("features") if isinstance(it.metadata, dict) else None
        if isinstance(feats, dict) and feats:
            truth = pd.to_numeric(it.expected, errors="coerce")
            rows.append({"run": it.run, "task": it.task, "item_id": it.item_id, "truth": truth, **feats})
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    for col in df.columns.difference(["run", "task", "item_id", "truth"]):
        df[col] = _numeric(df[col])
    return df.dropna(axis=1, how="all")


def _corr(a: pd.Series, b: pd.Series) -> float:
    m = a.notna() & b.notna()
    if m.sum() < 3 or a[m].std() == 0 or b[m].std() == 0:
        return math.nan
    return float(np.corrcoef(a[m], b[m])[0, 1])


def _r2(y: np.ndarray, X: np.ndarray) -> float:
    if len(y) <= X.shape[1] + 1 or np.std(y) == 0:
        return math.nan
    X1 = np.column_stack([np.ones(len(y)), X])
    beta, *_ = np.linalg.lstsq(X1, y, rcond=None)
    resid = y - X1 @ beta
    return float(1 - resid.var() / y.var())


def feature_tables(samples: pd.DataFrame, items: pd.DataFrame,
                   roles: dict[str, dict[str, list[str]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(correlations, variance shares). `roles` maps task -> {"causal": [...], "spurious": [...]}.

    correlations: task, model, mechanism, budget (or "ground truth"), feature, r.
    """
    feats = feature_frame(items)
    if feats.empty:
        return pd.DataFrame(), pd.DataFrame()
    names = [c for c in feats.columns if c not in ("run", "task", "item_id", "truth")]
    ok = samples[(samples["status"] == "ok") & samples["task"].isin(feats["task"].unique())]
    ok = ok.assign(prediction=pd.to_numeric(ok["answer"], errors="coerce"))
    data = ok.merge(feats, on=["run", "task", "item_id"], how="inner")
    corr_rows: list[dict[str, Any]] = []
    var_rows: list[dict[str, Any]] = []
    for task, tf in feats.groupby("task", sort=False):
        for name in names:
            corr_rows.append(dict(task=task, model="ground truth", mechanism="", budget="ground truth",
                                  feature=name, r=_corr(tf["truth"], tf[name])))
    for key, g in data.groupby(KEYS + ["budget"], sort=False):
        task = key[0]
        for name in names:
            corr_rows.append(dict(zip(KEYS + ["budget"], key), feature=name, r=_corr(g["prediction"], g[name])))
        role = roles.get(task)
        if role:
            y = g["prediction"].to_numpy(float)
            keep = np.isfinite(y)
            row = dict(zip(KEYS + ["budget"], key), n=int(keep.sum()))
            for label, cols in (("causal", role.get("causal", [])), ("spurious", role.get("spurious", [])),
                                ("all", role.get("causal", []) + role.get("spurious", []))):
                cols = [c for c in cols if c in g]
                X = g[cols].to_numpy(float)[keep] if cols else np.empty((int(keep.sum()), 0))
                row[f"r2_{label}"] = _r2(y[keep], X) if cols and np.isfinite(X).all() else math.nan
            var_rows.append(row)
    return pd.DataFrame(corr_rows), pd.DataFrame(var_rows)


def feature_roles(tasks: dict[str, dict[str, Any]], names: list[str]) -> dict[str, dict[str, list[str]]]:
    """causal / spurious feature lists from the stored task description, else from the task class."""
    out = {}
    for name in names:
        info = tasks.get(name, {})
        causal, spurious = info.get("causal_features"), info.get("spurious_features")
        if causal is None or spurious is None:
            try:
                task = get_task(name)
            except UserError:  # a task not installed here: its roles are unknown and the section says so
                task = None
            causal = causal if causal is not None else getattr(task, "causal_features", None)
            spurious = spurious if spurious is not None else getattr(task, "spurious_features", None)
        if causal and spurious:
            out[name] = {"causal": list(causal), "spurious": list(spurious)}
    return out
