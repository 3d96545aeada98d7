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
