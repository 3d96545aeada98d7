"""A run names its model (issue 31, item 9): `--model-name NAME` on `overthink run` (or `SPEC name=NAME` / a
{spec, name} mapping in a YAML file's models) is the model's identity in the store, summary, report and review, so a
server restarted on another port is not a "new model": the run continues the same cells without re-sending."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from overthink.cli import app
from overthink.config import build_config
from overthink.errors import ConfigError
from overthink.review.app import ReviewConfig, create_app
from overthink.store import Store

# one budget: each run's end-of-run summary has no curve figure to draw (the identity of the model is tested)
RUN = ["--server", "vllm", "--budgets", "0", "--task", "misleading-math", "--quiet"]


def _chats(api) -> int:
    return sum(e["path"] == "/v1/chat/completions" for e in api.log)


def _samples(run: Path) -> list[dict]:
    with Store(run, create=False) as store:
        return list(store.iter_samples(with_text=False))


def test_a_named_server_model_continues_its_cells_after_a_port_change(serve, tmp_path):
    first = serve("vllm")
    run = tmp_path / "run"
    done = CliRunner().invoke(app, ["run", "--model", f"openai-compatible:m@{first.url}/v1", "--model-name", "qwen3",
                                    "--limit", "4", "--run-dir", str(run), *RUN])
    assert done.exit_code == 0, done.output
    assert _chats(first) == 4 and {r["model"] for r in _samples(run)} == {"qwen3"}
    first.stop()

    second = serve("vllm")  # the server restarted on another port
    assert second.url != first.url
    done = CliRunner().invoke(app, ["run", "--model", f"openai-compatible:m@{second.url}/v1", "--model-name",
                                    "qwen3", "--limit", "8", "--run-dir", str(run), *RUN])
    assert done.exit_code == 0, done.output
    rows = _samples(run)
    assert _chats(second) == 4  # only the four new items: nothing stored was sent again
    assert len(rows) == 8 and {r["model"] for r in rows} == {"qwen3"}
    assert {r["provider"] for r in rows} == {"openai-compatible"}
    with Store(run, create=False) as store:
        assert store.get_meta("models")["qwen3"]["spec"] == f"openai-compatible:m@{second.url}/v1"
        assert store.get_meta("config")["model_names"] == {f"openai-compatible:m@{second.url}/v1": "qwen3"}

    done = CliRunner().invoke(app, ["resume", str(run), "--quiet"])  # resume: the stored name, nothing to do
    assert done.exit_code == 0, done.output
    assert _chats(second) == 4 and len(_samples(run)) == 8

    summary = json.loads(CliRunner().invoke(app, ["summary", str(run), "--json"]).stdout)
    assert {s["model"] for s in summary["scores"]} == {"qwen3"}
    assert summary["cost"]["total"]["basis"] == "no price (self-hosted)"  # the name still runs on the server

    config = ReviewConfig(run, default_reviewer="ann")  # the review app lists the named model
    page = TestClient(create_app(config), base_url="http://127.0.0.1").get(f"/?token={config.token}").text
    assert "qwen3" in page and f"openai-compatible:m@{second.url}" not in page


def test_without_a_name_the_new_port_is_a_new_model(serve, tmp_path):
    """The reason for names: the spec with its port is the identity otherwise, and everything is sent again."""
    first, second = serve("vllm"), serve("vllm")
    run = tmp_path / "run"
    for api in (first, second):
        done = CliRunner().invoke(app, ["run", "--model", f"openai-compatible:m@{api.url}/v1", "--limit", "4",
                                        "--run-dir", str(run), *RUN])
        assert done.exit_code == 0, done.output
    assert _chats(second) == 4 and len({r["model"] for r in _samples(run)}) == 2


@pytest.mark.parametrize("entry", ["openai-compatible:m@http://127.0.0.1:9/v1 name=qwen3",
                                   {"spec": "openai-compatible:m@http://127.0.0.1:9/v1", "name": "qwen3"}])
def test_a_yaml_models_entry_names_its_model(tmp_path, entry):
    path = tmp_path / "x.yaml"
    path.write_text(json.dumps({"models": [entry, "stub:oracle"], "tasks": ["misleading-math"]}))
    cfg = build_config(path)
    assert cfg.models == ["openai-compatible:m@http://127.0.0.1:9/v1", "stub:oracle"]
    assert cfg.model_ids() == {"qwen3": "openai-compatible:m@http://127.0.0.1:9/v1", "stub:oracle": "stub:oracle"}
    again = build_config(None, {}, base=cfg.model_dump(mode="json"))  # as a resumed run reads it back
    assert again.model_ids() == cfg.model_ids()


@pytest.mark.parametrize(("overrides", "words"), [
    ({"models": ["stub:oracle", "stub:flat"], "model_names": ["a"]}, "give one name per model"),
    ({"models": ["stub:oracle", "stub:flat"], "model_names": ["a", "a"]}, "would both be called 'a'"),
    ({"models": ["stub:oracle name=stub:flat", "stub:flat"]}, "would both be called 'stub:flat'"),
    ({"models": ["stub:oracle"], "model_names": ["my model"]}, "model name 'my model'"),
])
def test_bad_names_are_refused_with_one_line(overrides, words):
    with pytest.raises(ConfigError, match=words):
        build_config(None, {"tasks": ["misleading-math"], **overrides})


def test_the_cli_refuses_a_name_count_that_does_not_match_with_exit_2(tmp_path):
    done = CliRunner().invoke(app, ["run", "--model", "stub:oracle", "--model", "stub:flat", "--model-name", "a",
                                    "--task", "misleading-math", "--run-dir", str(tmp_path / "r")])
    assert done.exit_code == 2 and "--model-name: give one name per model" in done.output
    assert not (tmp_path / "r").exists()
