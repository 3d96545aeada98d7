"""The capability table: layers (packaged < user file < model_options), typed values, and bad data reported with
the file, the row and the field (a ConfigError in process, exit code 2 and one line from the CLI)."""

from __future__ import annotations

import pytest
import yaml
from helpers import run_cli

from overthink.errors import ConfigError
from overthink.providers.capabilities import Capabilities, capabilities


def write_user_table(home, data) -> str:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "capabilities.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_packaged_rows_are_typed_and_layered():
    caps = capabilities("anthropic", "claude-opus-4-6-20260101")
    assert isinstance(caps, Capabilities)
    assert caps.thinking == ("budget_tokens", "adaptive") and "max" in caps.efforts and caps.min_budget == 1024
    assert caps.match == "claude-opus-4-6-20260101"
    o3 = capabilities("openai", "o3-mini")
    assert o3.reasoning is True and o3.temperature is False and o3.system_role == "developer"
    # a field no layer declared reads as absent through get(), and as the typed default as an attribute
    assert o3.get("budget_field", "unset") == "unset" and o3.budget_field is None
    assert capabilities("openai", "gpt-4o").reasoning is False  # no row: the provider's defaults


def test_user_file_and_model_options_layer_over_the_table(home):
    write_user_table(home, {"anthropic": {"models": [{"match": "claude-sonnet-4-20*", "min_budget": 2048}]}})
    caps = capabilities("anthropic", "claude-sonnet-4-20250514")
    assert caps.min_budget == 2048 and caps.thinking == ("budget_tokens",)  # user row first, defaults kept
    caps = capabilities("anthropic", "claude-sonnet-4-20250514", {"thinking": ["adaptive"], "efforts": ["low"]})
    assert caps.thinking == ("adaptive",) and caps.efforts == ("low",) and caps.min_budget == 2048


@pytest.mark.parametrize("row,field", [
    ({"match": "claude-x*", "min_budget": "lots"}, "min_budget"),
    ({"match": "claude-x*", "thinking": "adaptive"}, "thinking"),
    ({"match": "claude-x*", "efforts": ["low", 3]}, "efforts.1"),
    ({"match": "claude-x*", "min_budget": -5}, "min_budget"),
])
def test_bad_value_in_user_file_names_file_row_and_field(home, row, field):
    path = write_user_table(home, {"anthropic": {"models": [{"match": "other*"}, row]}})
    with pytest.raises(ConfigError) as info:
        capabilities("anthropic", "claude-sonnet-4-20250514")  # any model: every row of the provider is checked
    message = str(info.value)
    assert message.startswith(f"{path}: anthropic.models[1]: capability field '{field}': ")
    assert "\n" not in message


def test_bad_structure_and_unknown_fields(home):
    path = write_user_table(home, {"openai": {"models": [{"reasoning": True}]}})
    with pytest.raises(ConfigError, match=r"openai.models\[0\]: a row needs a 'match' glob"):
        capabilities("openai", "o3")
    write_user_table(home, {"openai": {"rows": []}})
    with pytest.raises(ConfigError, match=f"^{path}: openai: 'rows'"):
        capabilities("openai", "o3")
    write_user_table(home, {"openai": {"defaults": {"reasoning": True, "sytem_role": "developer"}}})
    with pytest.raises(ConfigError, match=r"openai.defaults: unknown capability field\(s\) sytem_role; known: "):
        capabilities("openai", "o3")
    (home / "capabilities.yaml").unlink()
    with pytest.raises(ConfigError, match=r"^model_options for openai:o3: capabilities: capability field "
                                          r"'reasoning': Input should be a valid boolean \(got 'yes'\)"):
        capabilities("openai", "o3", {"reasoning": "yes"})


def test_cli_reports_a_bad_capabilities_file_in_one_line(home, tmp_path):
    path = write_user_table(home, {"anthropic": {"models": [{"match": "claude-*", "min_budget": "lots"}]}})
    result = run_cli("run", "--model", "anthropic:claude-sonnet-4-20250514", "--task", "misleading-math",
                     "--budgets", "1024", "--mechanism", "native", "--limit", "1", "--run-dir", str(tmp_path / "r"),
                     env={"ANTHROPIC_API_KEY": "sk-ant-test-key-000", "OVERTHINK_HOME": str(home)}, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "sk-ant-test" not in result.stderr + result.stdout
    assert f"{path}: anthropic.models[0]: capability field 'min_budget'" in result.stderr
