"""The provider registry (providers/registry.py): one typed ProviderInfo per provider, a third-party provider added
through the `overthink.providers` entry point, and no module outside the provider modules branching on a
provider's name (the knowledge of a provider lives in its ProviderInfo)."""

from __future__ import annotations

import ast
import asyncio
import sys
from pathlib import Path

from overthink.budget import plan_budget
from overthink.core import Mechanism
from overthink.mechanism import auto_mechanism
from overthink.providers import PROVIDERS, GenerateRequest, ProviderInfo, answer_margin_for, load_model, registry
from overthink.providers.registry import plugins

SRC = Path(__file__).resolve().parents[1] / "src" / "overthink"
# the provider modules themselves (and the registry) may name providers
PROVIDER_MODULES = {f"providers/{n}.py" for n in ("anthropic", "anthropic_cloud", "openai", "openai_compatible",
                                                    "gemini", "openrouter", "stub", "registry")} \
    | {"local/model.py", "local/sweep.py", "local/packs.py", "servers/sweep.py", "servers/profiles.py"}


def _names(node: ast.AST, names: set[str]) -> set[str]:
    """Provider names a literal (a string, or a tuple / list / set of strings) spells; 'local:' counts."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return {v.value.rstrip(":") for v in items if isinstance(v, ast.Constant) and isinstance(v.value, str)
            and v.value.rstrip(":") in names}


def provider_name_branches(root: Path, names: set[str]) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in PROVIDER_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            hit: set[str] = set()
            if isinstance(node, ast.Compare):
                for side in (node.left, *node.comparators):
                    hit |= _names(side, names)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("startswith", "endswith") and node.args:
                hit |= _names(node.args[0], names)
            if hit:
                found.append(f"{rel}:{node.lineno}: compares the provider name(s) {sorted(hit)}")
    return found


def test_the_checker_finds_name_branches(tmp_path):
    (tmp_path / "a.py").write_text('if p == "openai":\n    pass\nok = spec.startswith(("local:", "x"))\n'
                                   'fine = mode == "locally"\nmember = p in ("gemini", "stub")\n')
    assert provider_name_branches(tmp_path, set(PROVIDERS)) == [
        "a.py:1: compares the provider name(s) ['openai']", "a.py:3: compares the provider name(s) ['local']",
        "a.py:5: compares the provider name(s) ['gemini', 'stub']"]


def test_no_module_outside_the_provider_modules_compares_a_provider_name():
    assert provider_name_branches(SRC, set(PROVIDERS)) == []


def test_every_provider_is_a_typed_entry():
    assert all(isinstance(info, ProviderInfo) and info.name == name for name, info in PROVIDERS.items())
    assert answer_margin_for("local") == 128 and answer_margin_for("openai-compatible") == 16_384
    assert answer_margin_for("anthropic") == 10_000 and PROVIDERS["local"].natural_cap == 2048


PLUGIN = '''
from overthink.core import Completion
from overthink.providers import ModelBase, ProviderInfo

class Echo(ModelBase):
    def __init__(self, spec, options):
        self.spec = spec

    async def generate(self, request):
        return Completion(reasoning="", answer_text="<answer>" + request.prompt + "</answer>", reasoning_tokens=0,
                          reasoning_tokens_source="none", output_tokens=3, input_tokens=1, stop_reason="stop",
                          latency_s=0.0)

def create(spec, options):
    return Echo(spec, options)

INFO = ProviderInfo("echo", "overthink_echo:create", extra="", answer_margin=64)
'''


def test_a_third_party_provider_from_an_entry_point(tmp_path, monkeypatch):
    (tmp_path / "overthink_echo.py").write_text(PLUGIN)
    dist = tmp_path / "overthink_echo-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: overthink-echo\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[overthink.providers]\necho = overthink_echo:INFO\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins.cache_clear()
    try:
        assert "echo" in registry() and "echo" not in PROVIDERS  # built-ins stay as they are
        assert answer_margin_for("echo") == 64 and auto_mechanism("echo") is Mechanism.NATIVE
        model = load_model("echo:any")
        out = asyncio.run(model.generate(GenerateRequest(prompt="7", plan=plan_budget(0, "native", answer_margin=64),
                                                         seed=1)))
        assert out.answer_text == "<answer>7</answer>" and model.default_answer_margin == 64
    finally:
        plugins.cache_clear()
        sys.modules.pop("overthink_echo", None)
