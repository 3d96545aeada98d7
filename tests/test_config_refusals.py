"""Config values that were accepted silently are refused with one line naming the field, exit code 2 (issue 26,
points 5 and 7a; issue 31 item 9): impossible model options, model_options for a model not in the run, an empty
run dir, a URL with a space, lost or foreign-script budgets, duplicate YAML keys, a YAML alias bomb, a store
written by a newer overthink, and a mistyped field gets a "did you mean"."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest
from helpers import run_cli

from overthink.config import build_config
from overthink.errors import ConfigError, UserError
from overthink.store import DB_NAME, Store
from overthink.yaml_text import parse_yaml

SPEC = "openai-compatible:m@http://127.0.0.1:9/v1"
BASE = {"models": [SPEC], "tasks": ["word-problems"]}


@pytest.mark.parametrize("change, message", [
    ({"model_options": {SPEC: {"timeout_s": -5}}}, "timeout_s must be a number > 0, got -5"),
    ({"model_options": {SPEC: {"timeout_s": 0}}}, "timeout_s must be a number > 0"),
    ({"model_options": {SPEC: {"timeout_s": float("nan")}}}, "timeout_s must be a number > 0"),
    ({"model_options": {SPEC: {"max_attempts": 0}}}, "max_attempts must be a number > 0, got 0"),
    ({"model_options": {SPEC: {"max_concurrency": 0}}}, "max_concurrency must be a number > 0, got 0"),
    ({"model_options": {SPEC: {"backoff_initial_s": -1}}}, "backoff_initial_s must be a number >= 0, got -1"),
    ({"model_options": {SPEC: {"backoff_max_s": "-2"}}}, "backoff_max_s must be a number >= 0"),
    ({"model_options": {"openai:o4-mini": {"timeout_s": 5}}},
     "model_options names model 'openai:o4-mini', which is not one of this run's models"),
    ({"model_options": {"openai-compatible:m@http://127.0.0.1:9/v1/": {"timeout_s": 5}}},
     f"(did you mean {SPEC!r}?)"),
    ({"run_dir": ""}, "field 'run_dir': an empty run dir"),
    ({"run_dir": "   "}, "field 'run_dir': an empty run dir"),
    ({"models": ["openai-compatible:m@http://127.0.0.1:9/v 1"]}, "a URL holds no spaces"),
    ({"model_options": {SPEC: {"base_url": "http://127.0.0.1:9/v1 "}}}, "base_url: a URL holds no spaces"),
    ({"model_options": {SPEC: {"base_url": "http://127.0.0.1:9/\tv1"}}}, "base_url: a URL holds no spaces"),
    ({"budgets": "0,,64"}, "budgets: an empty entry in '0,,64'"),
    ({"budgets": "0,64,,"}, "budgets: an empty entry"),
    ({"budgets": "0,\u0666\u0664"}, "budget '\u0666\u0664': write a token count in the digits 0-9"),
    ({"budgets": [0, "\uff16\uff14"]}, "write a token count in the digits 0-9"),  # full-width 64
    ({"replicate": 2}, "field 'replicate': not a config field (did you mean 'replicates'?)"),
    ({"budget": [0, 64]}, "(did you mean 'budgets'?)"),
    ({"concurency": 4}, "(did you mean 'concurrency'?)"),
])
def test_bad_values_are_refused_naming_the_field(change, message):
    with pytest.raises(ConfigError) as exc:
        build_config(overrides={**BASE, **change})
    assert message in str(exc.value), str(exc.value)
    assert "\n" not in str(exc.value)


def test_good_values_still_pass():
    cfg = build_config(overrides={**BASE, "budgets": "0, 64 ,high", "run_dir": "runs/x",
                                  "model_options": {SPEC: {"timeout_s": 0.5, "max_attempts": 1, "max_concurrency": 1,
                                                           "backoff_initial_s": 0, "backoff_max_s": 0}}})
    assert cfg.budgets == [0, 64, "high"] and cfg.model_options[SPEC]["backoff_initial_s"] == 0
    assert build_config(overrides={**BASE, "replicates": 2}).replicates == 2


def test_an_unknown_field_far_from_any_gets_no_guess():
    with pytest.raises(ConfigError) as exc:
        build_config(overrides={**BASE, "zzzzqqq": 1})
    assert "field 'zzzzqqq': not a config field" in str(exc.value) and "did you mean" not in str(exc.value)


def test_duplicate_yaml_keys_are_refused_with_the_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("models: [stub:inverse]\ntasks: [word-problems]\nlimit: 2\nseed: 1\nlimit: 3\n")
    with pytest.raises(ConfigError) as exc:
        build_config(path)
    assert f"{path}: line 5 is not valid YAML" in str(exc.value)
    assert "the key 'limit' is given twice in one mapping (first on line 3)" in str(exc.value)
    nested = tmp_path / "n.yaml"
    nested.write_text(f"models: [{SPEC}]\ntasks: [word-problems]\nmodel_options:\n  {SPEC}:\n"
                      "    timeout_s: 5\n    timeout_s: 50\n")
    with pytest.raises(ConfigError, match="the key 'timeout_s' is given twice"):
        build_config(nested)


def test_merge_keys_and_shared_aliases_still_load():
    text = ("base: &b {timeout_s: 5, max_attempts: 2}\n"
            "a:\n  <<: *b\n  timeout_s: 9\n"
            "shared: [*b, *b, *b]\n")
    data = parse_yaml(text)
    assert data["a"] == {"timeout_s": 9, "max_attempts": 2} and data["shared"] == [data["base"]] * 3


def _bomb() -> str:
    """A 'billion laughs' document: 9 levels of 9 aliases expand 'lol' 9^9 = 387 million times."""
    lines = ["models: [stub:inverse]", "tasks: [word-problems]", "model_options:", "  stub:inverse:",
             "    extra_body:", '      a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"      {name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(_bomb())
    assert len(path.read_bytes()) < 800
    run = tmp_path / "run"
    started = time.perf_counter()
    # in a subprocess: where the bomb is walked, the walk never ends (the timeout fails the test)
    res = run_cli("run", "--config", str(path), "--run-dir", str(run), timeout=90)
    took = time.perf_counter() - started
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.strip().count("\n") == 0 and "an alias bomb?" in res.stderr and str(path) in res.stderr
    assert not run.exists()
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="an alias bomb"):
        build_config(path)
    assert time.perf_counter() - started < 1.0 and took < 60


def test_a_recursive_yaml_alias_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text(f"models: [{SPEC}]\ntasks: [word-problems]\nmodel_options:\n  {SPEC}:\n"
                    "    extra_body: &x {again: *x}\n")
    with pytest.raises(ConfigError, match="an alias refers to a node that contains it"):
        build_config(path)


def test_cli_refusals_are_one_line_and_touch_nothing(tmp_path):
    """The flags route: --run-dir "" (wrote into the current directory), --budgets 0,,64 and Arabic-Indic
    digits, a mistyped YAML field and model_options for another model, each exit 2 with one line."""
    work = tmp_path / "work"
    work.mkdir()
    typo = tmp_path / "typo.yaml"
    typo.write_text("models: [stub:inverse]\ntasks: [word-problems]\nreplicate: 2\n")
    other = tmp_path / "other.yaml"
    other.write_text(json.dumps({"models": ["stub:inverse"], "tasks": ["word-problems"],
                                 "model_options": {"stub:inversee": {"timeout_s": 5}}}))
    base = ["run", "-m", "stub:inverse", "-t", "word-problems", "--limit", "1", "--quiet"]
    for args, message in [
        ([*base, "--run-dir", ""], "field 'run_dir': an empty run dir"),
        ([*base, "--budgets", "0,,64", "--run-dir", "r1"], "budgets: an empty entry in '0,,64'"),
        ([*base, "--budgets", "0,\u0666\u0664", "--run-dir", "r2"], "write a token count in the digits 0-9"),
        (["run", "--config", str(typo), "--run-dir", "r3"], "(did you mean 'replicates'?)"),
        (["run", "--config", str(other), "--run-dir", "r4"], "(did you mean 'stub:inverse'?)"),
    ]:
        res = run_cli(*args, cwd=work)
        assert res.returncode == 2 and "Traceback" not in res.stderr, (args, res.stderr)
        assert message in res.stderr and res.stderr.strip().count("\n") == 0, (args, res.stderr)
    assert list(work.iterdir()) == []  # nothing written anywhere, the current directory included


def test_a_store_from_a_newer_overthink_is_neither_read_nor_resumed(tmp_path):
    run = tmp_path / "run"
    res = run_cli("run", "-m", "stub:inverse", "-t", "word-problems", "--limit", "1", "--budgets", "0,64",
                  "--run-dir", str(run), "--quiet")
    assert res.returncode == 0, res.stderr
    conn = sqlite3.connect(run / DB_NAME)
    with conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # our own edit into the main file, so any later write shows
    conn.close()
    before = (run / DB_NAME).read_bytes()
    for readonly in (True, None):
        with pytest.raises(UserError, match="store schema version '99' is newer than this overthink reads"):
            Store(run, create=False, readonly=readonly)
    for args in (("summary", str(run)), ("resume", str(run), "--quiet")):
        res = run_cli(*args)
        assert res.returncode == 2 and "Traceback" not in res.stderr, (args, res.stderr)
        assert "newer than this overthink reads (up to" in res.stderr and res.stderr.strip().count("\n") == 0
    assert (run / DB_NAME).read_bytes() == before
