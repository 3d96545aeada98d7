"""Where an answer flips, for the review app's item page: pure Python (the review app loads no pandas).
The report's version of the same rule is analysis/trajectories.py (the decisive correct -> wrong flip)."""

from __future__ import annotations


def review_flips(models: dict[str, dict]) -> dict[int, dict[str, object]]:
    """For the review app's item page (models: model -> budget -> sample dicts with reasoning text): per longest
    forced sample of a (model, replicate) trajectory with a correct -> wrong flip, its reasoning split into
    before / span / after around the decisive flip, and the two cuts."""
    out: dict[int, dict[str, object]] = {}
    for cells in models.values():
        reps: dict[int, list[dict]] = {}
        for b, samples in cells.items():
            for s in samples:
                if isinstance(b, int) and s.get("mechanism") == "forced" and s.get("status") in ("ok", "unparsed"):
                    reps.setdefault(int(s["replicate"]), []).append(s)
        for rows in reps.values():
            rows.sort(key=lambda s: (s.get("reasoning_tokens") or 0, s["budget"]))
            correct = [bool(s.get("correct")) for s in rows]
            down = [i for i in range(1, len(rows)) if correct[i - 1] and not correct[i]]
            if not down:
                continue
            i = down[0] if correct[-1] else down[-1]
            full = str(rows[-1].get("reasoning") or "")
            start = len(str(rows[i - 1].get("reasoning") or "").rstrip())
            end = len(str(rows[i].get("reasoning") or ""))
            if not full.startswith(str(rows[i].get("reasoning") or "")[:end].rstrip()):
                continue  # not cuts of one trace (independent sampling): no common text to mark
            out[int(rows[-1]["id"])] = {"before": full[:start], "span": full[start:end], "after": full[end:],
                                        "from_cut": rows[i - 1].get("reasoning_tokens"),
                                        "to_cut": rows[i].get("reasoning_tokens")}
    return out
