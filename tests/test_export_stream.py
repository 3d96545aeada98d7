"""Exports stream in batches: a forced-small batch writes what one batch writes (csv byte for byte, parquet equal
read back with pandas), and both equal the whole-run reference (every record in memory, as exports were built)."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest

from overthink.core import Item, SampleRecord
from overthink.store import Store, write_export
from overthink.store.schema import COLUMNS

pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("export")
    with Store(path) as store:
        # Tasks whose items carry different metadata: lists, dicts, ints, a key mixing int and bool, a JSON null,
        # one that collides with a record field (-> meta_model), and items with no metadata or no stored item.
        store.add_items("a", [Item(id=f"a{i}", prompt="p", answer=i,
                                   metadata={"spans": [f"s{i}", "<b>"], "n": i, "mixed": i if i % 2 else True,
                                             "model": "x", "none": None}) for i in range(7)])
        store.add_items("b", [Item(id=f"b{i}", prompt="p", answer=i, choices=["1", "2"],
                                   metadata={"info": {"k": i}, "n": i / 2}) for i in range(5)])
        store.add_items("c", [Item(id="c0", prompt="p", answer=0)])
        n = 0
        for task, ids in (("a", [f"a{i}" for i in range(7)]), ("b", [f"b{i}" for i in range(5)]),
                          ("c", ["c0", "c-no-item"])):
            for item_id in ids:
                for budget in (0, 1024, "high"):
                    n += 1
                    status = ("ok", "error", "truncated", "ok")[n % 4]
                    store.record(SampleRecord(
                        run_id="r", model="m", provider="p", task=task, item_id=item_id, budget=budget,
                        mechanism="forced", replicate=0, seed=n, status=status,
                        reasoning_tokens=n if n % 3 else None, answer="2" if status == "ok" else None,
                        expected="2", score=1.0 if n % 5 else None, correct=(n % 2 == 0) if status == "ok" else None,
                        latency_s=0.1 * n, error="boom, \"quoted\"\nline" if status == "error" else None,
                        reasoning=f"think <i>{n}</i>, then\nanswer", answer_text="<answer>2</answer>",
                        metadata={"usage": {"n": n}} if n % 2 else {}, created_at=1.7e9 + n))
    return path


def _old_records(store: Store, *, fill: bool = False) -> list[dict]:
    """The records as exports built them before streaming: every sample, items from a dict, all in memory."""
    item_meta = {(i["task"], i["item_id"]): i["metadata"] for i in store.items()}
    records = []
    for row in store.iter_samples(with_text=True):
        for key, value in item_meta.get((row["task"], row["item_id"]), {}).items():
            row["meta_" + key if key in row else key] = value
        records.append(row)
    if fill:  # a sample without an item's metadata key holds None (pandas would make it NaN, written as "NaN")
        columns = list(dict.fromkeys(k for r in records for k in r))
        records = [{c: r.get(c) for c in columns} for r in records]
    return records


def _old_csv(store: Store) -> str:
    records = _old_records(store)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(k for r in records for k in r)) or COLUMNS,
                            extrasaction="ignore")
    writer.writeheader()
    for rec in records:
        writer.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in rec.items()})
    return buf.getvalue()


def _old_parquet_frame(store: Store, path) -> pd.DataFrame:
    frame = pd.DataFrame(_old_records(store, fill=True))
    for col in frame.columns:
        values = frame[col].dropna()
        if frame[col].dtype != object or values.empty:
            continue
        if values.map(lambda v: isinstance(v, (list, dict))).any():
            frame[col] = frame[col].map(lambda v: None if v is None else json.dumps(v, default=str))
        elif values.map(type).nunique() > 1:
            frame[col] = frame[col].map(lambda v: None if v is None else str(v))
    frame.to_parquet(path, index=False)
    return pd.read_parquet(path)


def test_csv_in_batches_equals_one_batch_and_the_whole_run(run_dir):
    with Store(run_dir, create=False) as store:
        outs = []
        for batch in (1, 4, 10**6):
            buf = io.StringIO()
            assert write_export(store, "csv", buf, batch=batch) == store.count() == 42
            outs.append(buf.getvalue())
        assert outs[0] == outs[1] == outs[2] == _old_csv(store)
    header = outs[0].splitlines()[0].split(",")
    assert header[:len(COLUMNS)] == COLUMNS and "meta_model" in header and "choices" in header


def test_jsonl_in_batches_equals_the_whole_run(run_dir):
    with Store(run_dir, create=False) as store:
        buf = io.StringIO()
        write_export(store, "jsonl", buf, batch=5)
        assert buf.getvalue() == "".join(json.dumps(r, default=str) + "\n" for r in _old_records(store))


def test_parquet_in_batches_equals_one_batch_and_a_pandas_frame(run_dir, tmp_path):
    with Store(run_dir, create=False) as store:
        small, whole = tmp_path / "small.parquet", tmp_path / "whole.parquet"
        assert write_export(store, "parquet", small, batch=4) == 42
        assert write_export(store, "parquet", whole) == 42
        reference = _old_parquet_frame(store, tmp_path / "old.parquet")
    import pyarrow.parquet as pq

    assert pq.ParquetFile(small).metadata.num_row_groups == 11 and pq.ParquetFile(whole).metadata.num_row_groups == 1
    got = pd.read_parquet(small)
    pd.testing.assert_frame_equal(got, pd.read_parquet(whole))
    pd.testing.assert_frame_equal(got, reference)
    assert got["budget"].tolist()[:3] == ["0", "1024", "high"]  # mixed types: text
    assert set(got["mixed"].dropna()) == {"True", "1", "3", "5"} and got["spans"].iloc[0] == '["s0", "<b>"]'
    assert pd.isna(got["spans"].iloc[-1])  # null, not the text "NaN", where an item has no such key
