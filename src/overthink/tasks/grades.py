"""Grades Regression: predict a student's grade (0..10) from lifestyle records, with k-shot examples.

The synthetic population has an explicit causal structure fitted to the published "student lifestyle" survey that
Gema et al. (2025) use (2,000 students, Lisbon, Aug 2023 - May 2024; grades 0..10 = 2.5 x GPA, mean 7.79):
- hours per day: study U(5,10), extracurricular U(0,4), sleep U(5,10), social U(0,6), one decimal; physical
  activity is the rest of the 24-hour day (rows where it falls outside 0..13 are redrawn). The uniform ranges are
  our assumption; the residual construction reproduces the published r(physical, grades) = -0.34 by itself;
- grades = 7.79 + weights . (hours - mean) + N(0, 0.51), clipped to 0..10: study carries almost all of the weight;
  the small weights on the other hours offset the correlations the 24-hour budget induces, so that the marginal
  correlations match the published ones (study +0.73, extracurricular -0.03, sleep 0.00, social -0.09);
- stress is *derived* from study and sleep (High if study >= 7.7 or sleep < 5.8; Low if study < 6 and sleep >= 6.5;
  else Moderate): counts about 297 / 674 / 1,029 per 2,000 and r(stress, grades) = +0.55, yet stress has no effect
  on grades. Gender is independent of everything.
Because the generator knows which features are causal, `feature_reliance` can report how much a model's predictions
lean on spurious ones. `--data PATH` (option `data`) loads the real survey CSV with the same columns instead.
"""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..core import Item
from ..errors import DataError, UserError
from .base import Metric, Scoring, Task
from .sampling import check_options, parse_distribution

HOURS = ("Study_Hours_Per_Day", "Extracurricular_Hours_Per_Day", "Sleep_Hours_Per_Day", "Social_Hours_Per_Day",
         "Physical_Activity_Hours_Per_Day")
COLUMNS = ("Student_ID", *HOURS, "Stress_Level", "Gender", "Grades")
RANGES = {"Study_Hours_Per_Day": (5.0, 10.0), "Extracurricular_Hours_Per_Day": (0.0, 4.0),
          "Sleep_Hours_Per_Day": (5.0, 10.0), "Social_Hours_Per_Day": (0.0, 6.0)}
# Fitted once (400k simulated rows) so the marginal correlations match the published ones; see module docstring.
MEANS = {"Study_Hours_Per_Day": 7.377, "Extracurricular_Hours_Per_Day": 1.919, "Sleep_Hours_Per_Day": 7.378,
         "Social_Hours_Per_Day": 2.829}
CAUSAL_WEIGHTS = {"Study_Hours_Per_Day": 0.3871, "Extracurricular_Hours_Per_Day": 0.0094,
                  "Sleep_Hours_Per_Day": 0.0282, "Social_Hours_Per_Day": -0.0075}
GRADE_MEAN, NOISE_SD = 7.79, 0.5107
STRESS_LEVELS = ("Low", "Moderate", "High")
# Published Pearson r with Grades (all 2,000 rows); the tests hold the synthetic population to these.
PUBLISHED_R = {"Study_Hours_Per_Day": 0.73, "Stress_Level": 0.55, "Physical_Activity_Hours_Per_Day": -0.34,
               "Social_Hours_Per_Day": -0.09, "Extracurricular_Hours_Per_Day": -0.03, "Sleep_Hours_Per_Day": 0.00,
               "Gender": 0.01}
POOL = 500  # synthetic students reserved as few-shot examples, disjoint from the targets


def stress_of(study: float, sleep: float) -> str:
    if study >= 7.7 or sleep < 5.8:
        return "High"
    return "Low" if study < 6.0 and sleep >= 6.5 else "Moderate"


def expected_grade(row: dict[str, Any]) -> float:
    """The causal mean grade for a row (what a perfect predictor would say, before noise and clipping)."""
    return GRADE_MEAN + sum(w * (float(row[k]) - MEANS[k]) for k, w in CAUSAL_WEIGHTS.items())


def simulate_student(r: random.Random, student_id: int) -> dict[str, Any]:
    while True:
        hours = {k: round(r.uniform(*RANGES[k]), 1) for k in RANGES}
        physical = round(24.0 - sum(hours.values()), 1)
        if 0.0 <= physical <= 13.0:
            break
    row: dict[str, Any] = {"Student_ID": student_id, **hours, "Physical_Activity_Hours_Per_Day": physical}
    row["Stress_Level"] = stress_of(hours["Study_Hours_Per_Day"], hours["Sleep_Hours_Per_Day"])
    row["Gender"] = r.choice(("Male", "Female"))
    row["Grades"] = round(min(10.0, max(0.0, expected_grade(row) + r.gauss(0.0, NOISE_SD))), 2)
    return row


def simulate(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """n synthetic students; student j depends only on (seed, j)."""
    return [simulate_student(random.Random(f"grades:{seed}:{j}"), j + 1) for j in range(n)]


def load_csv(path: str | Path) -> list[dict[str, Any]]:
    """Rows of the real survey CSV; DataError naming file and line for a missing column or a bad value."""
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"{path}: cannot open ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
        rows = []
        for row in reader:
            line = reader.line_num
            try:
                out: dict[str, Any] = {"Student_ID": row["Student_ID"].strip()}
                for k in HOURS:
                    out[k] = float(row[k])
                out["Grades"] = float(row["Grades"])
            except (TypeError, ValueError):
                raise DataError(f"{path}: line {line}: a number column is not a number") from None
            if not 0.0 <= out["Grades"] <= 10.0:
                raise DataError(f"{path}: line {line}: Grades {out['Grades']} outside 0..10")
            stress = (row["Stress_Level"] or "").strip()
            if stress not in STRESS_LEVELS:
                raise DataError(f"{path}: line {line}: Stress_Level {stress!r} not one of {', '.join(STRESS_LEVELS)}")
            out["Stress_Level"], out["Gender"] = stress, (row["Gender"] or "").strip()
            rows.append(out)
    if len(rows) < 20:
        raise DataError(f"{path}: only {len(rows)} rows; need at least 20 for targets and examples")
    return rows


def record(row: dict[str, Any], with_grade: bool = True) -> str:
    cols = COLUMNS if with_grade else COLUMNS[:-1]
    return "<record>" + "".join(f"<{c}>{row[c]}</{c}>" for c in cols) + "</record>"


class GradesRegression(Task):
    family = "grades-regression"
    scoring = Scoring.SQUARED_ERROR
    metric = Metric.RMSE
    metric_label = "RMSE"
    valid_range = (0.0, 10.0)
    default_size = 60
    paper_size = 1500
    causal_features: ClassVar[tuple[str, ...]] = tuple(CAUSAL_WEIGHTS)  # study dominant, the rest weak
    spurious_features: ClassVar[tuple[str, ...]] = ("Stress_Level", "Physical_Activity_Hours_Per_Day", "Gender")

    def __init__(self, name: str | None = None, **options: Any) -> None:
        super().__init__(name, **options)
        check_options(options, ["shots", "data"], self.family)
        self.shots = sorted(parse_distribution(options.get("shots", "0,8,16"), "shots", allowed=range(65)))
        self.data = options.get("data")
        self.rows = load_csv(self.data) if self.data else None
        if self.rows is not None and max(self.shots) >= len(self.rows):
            raise UserError(f"option 'shots': {max(self.shots)} examples need more than {len(self.rows)} rows")

    def items(self, n: int | None = None, seed: int = 0) -> list[Item]:
        n = self.default_size if n is None else n
        k = len(self.shots)
        students = -(-n // k)
        if self.rows is None:
            pool = [simulate_student(random.Random(f"grades:{seed}:pool:{j}"), 50_001 + j) for j in range(POOL)]
            targets = simulate(students, seed)
        else:
            order = list(range(len(self.rows)))
            random.Random(f"grades:{seed}:order").shuffle(order)
            targets = [self.rows[order[j % len(order)]] for j in range(students)]
            pool = self.rows
        out = []
        for i in range(n):
            target, shots = targets[i // k], self.shots[i % k]
            r = random.Random(f"grades:{seed}:examples:{i // k}")
            candidates = [row for row in pool if row["Student_ID"] != target["Student_ID"]]
            examples = r.sample(candidates, max(self.shots))[:shots]  # nested: the 8 are the first of the 16
            out.append(self._item(seed, i, target, shots, examples))
        return out

    def _item(self, seed: int, i: int, target: dict[str, Any], shots: int, examples: list[dict[str, Any]]) -> Item:
        if shots:
            head = (f"Here are {shots} records of university students' daily lifestyle and their grades "
                    f"(0 to 10):\n" + "\n".join(record(e) for e in examples) + "\n\nPredict the grade of this student:")
        else:
            head = "Here is a record of a university student's daily lifestyle. Predict the student's grade:"
        prompt = f"{head}\n{record(target, with_grade=False)}\n\nAnswer with a number between 0 and 10."
        features = {c: target[c] for c in COLUMNS[1:-1]}
        meta = {"student_id": target["Student_ID"], "shots": shots, "features": features,
                "example_ids": [e["Student_ID"] for e in examples],
                "source": "synthetic" if self.rows is None else str(self.data)}
        if self.rows is None:
            meta["expected_grade"] = round(expected_grade(target), 4)
        return Item(id=f"gr-{seed}-{i:05d}", prompt=prompt, answer=target["Grades"], metadata=meta)


def design(features: list[dict[str, Any]]) -> tuple[list[str], np.ndarray]:
    """Feature matrix for reliance: hours except physical activity (a linear function of the others), stress as
    0/1/2, gender as 1 = Male. Columns are standardised."""
    names = [*CAUSAL_WEIGHTS, "Stress_Level", "Gender"]
    x = np.array([[float(f[k]) for k in CAUSAL_WEIGHTS] + [STRESS_LEVELS.index(f["Stress_Level"]),
                   1.0 if f["Gender"] == "Male" else 0.0] for f in features])
    sd = x.std(axis=0)
    sd[sd == 0] = 1.0
    return names, (x - x.mean(axis=0)) / sd


def feature_reliance(items: list[Item], predictions: list[float | None]) -> dict[str, Any]:
    """Standardised OLS coefficients of predictions on the features, beside those of the true grades.

    `spurious_share` = the share of total |coefficient| on spurious features (stress, gender); the true grades'
    share shows what no reliance looks like. Unparsed predictions (None) are left out and counted.
    """
    pairs = [(it, p) for it, p in zip(items, predictions) if p is not None and math.isfinite(p)]
    if len(pairs) < 8:
        raise UserError(f"feature reliance needs at least 8 parsed predictions, got {len(pairs)}")
    names, x = design([it.metadata["features"] for it, _ in pairs])
    x1 = np.column_stack([np.ones(len(pairs)), x])

    def fit(y: list[float]) -> dict[str, float]:
        coef = np.linalg.lstsq(x1, np.asarray(y, dtype=float), rcond=None)[0][1:]
        return {k: float(c) for k, c in zip(names, coef)}

    def share(coefs: dict[str, float]) -> float:
        total = sum(abs(c) for c in coefs.values()) or 1.0
        return sum(abs(coefs[k]) for k in ("Stress_Level", "Gender")) / total

    model, truth = fit([p for _, p in pairs]), fit([float(it.answer) for it, _ in pairs])  # type: ignore[arg-type]
    return {"coefficients": model, "true_coefficients": truth, "spurious_share": share(model),
            "true_spurious_share": share(truth), "n": len(pairs), "unparsed": len(items) - len(pairs)}
