import pytest
from helpers import run_cli

from overthink.config import build_config
from overthink.errors import ConfigError


def test_yaml_and_flag_override(tmp_path):
    f = tmp_path / "exp.yaml"
    f.write_text("model: stub:oracle\ntasks: [misleading-math]\nbudgets: [0, 64]\nreplicates: 2\n")
    cfg = build_config(f, {"budgets": "0,128,high", "replicates": None})
    assert cfg.models == ["stub:oracle"] and cfg.budgets == [0, 128, "high"] and cfg.replicates == 2


@pytest.mark.parametrize("body,needle", [
    ("model: stub:oracle\ntasks: [x]\nreplicates: 0\n", "field 'replicates'"),
    ("model: stub:oracle\ntasks: [x]\nbudgets: [0, lots]\n", "field 'budgets'"),
    ("model: stub:oracle\ntasks: [x]\ncolour: red\n", "field 'colour'"),
    ("model: nosuch:model\ntasks: [x]\n", "unknown provider 'nosuch'"),
    ("tasks: [x]\n", "field 'models'"),
    ("model: [unclosed\n", "not valid YAML"),
    ("- a\n- b\n", "must be a mapping"),
])
def test_bad_config_names_file_and_field(tmp_path, body, needle):
    f = tmp_path / "bad.yaml"
    f.write_text(body)
    with pytest.raises(ConfigError) as err:
        build_config(f)
    assert needle in str(err.value) and "bad.yaml" in str(err.value)


def test_cli_bad_config_exit_code_2(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("model: stub:oracle\ntasks: [misleading-math]\nconcurrency: -1\n")
    res = run_cli("run", "--config", str(f), cwd=tmp_path)
    assert res.returncode == 2
    assert "bad.yaml" in res.stderr and "concurrency" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "runs").exists()  # nothing created for a bad config


def test_cli_unknown_model_and_task(tmp_path):
    res = run_cli("run", "--model", "gpt5", "--task", "misleading-math", cwd=tmp_path)
    assert res.returncode == 2 and "no provider" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("run", "--model", "stub:oracle", "--task", "nope", cwd=tmp_path)
    assert res.returncode == 2 and "unknown task 'nope'" in res.stderr
    assert not (tmp_path / "runs").exists()


def test_a_key_in_any_model_options_is_refused(tmp_path):
    """Configs are stored with the run: a secret is refused even for a model the run does not load."""
    with pytest.raises(ConfigError, match="looks like a secret"):
        build_config(None, {"models": ["stub:oracle"], "tasks": ["misleading-math"],
                            "model_options": {"openai:gpt-4o": {"api_key": "sk-abc"}}})


def test_bad_model_option_values_are_config_errors(tmp_path):
    from overthink.providers import load_model

    with pytest.raises(ConfigError, match="n_ctx must be int"):
        load_model("local:qwen2.5-coder-0.5b", {"n_ctx": "big"})
    with pytest.raises(ConfigError, match="unknown option"):
        load_model("local:qwen2.5-coder-0.5b", {"nctx": 16384})
    res = run_cli("run", "--model", "local:qwen2.5-coder-0.5b", "--task", "misleading-math", "--config",
                  str(_write(tmp_path / "o.yaml", "model_options:\n  local:qwen2.5-coder-0.5b: {n_ctx: big}\n")),
                  cwd=tmp_path)
    assert res.returncode == 2 and "n_ctx must be int" in res.stderr and "Traceback" not in res.stderr


def _write(path, text):
    path.write_text(text)
    return path
