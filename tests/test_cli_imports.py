"""`overthink --help` / `--version` start at once: the CLI imports no analysis, plotting or provider stack until a
command needs it (issue 16). Checked by module, not by time, so a busy machine cannot make it flaky."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "jinja2", "openai", "anthropic", "pyarrow",
         "xllamacpp", "httpx", "yaml")  # pydantic is not here: typer itself loads it to read parameter types


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in sys.modules if '.' not in m)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_cli_module_imports_nothing_heavy():
    loaded = _loaded_after("import overthink.cli")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_help_and_version_run_without_the_heavy_stack():
    for argv in (["--version"], ["--help"], ["run", "--help"]):
        code = ("import sys\nfrom overthink.cli import app\nsys.argv = ['overthink', *%r]\n"
                "try:\n    app()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n" % (argv,))
        loaded = _loaded_after(code)
        assert not loaded & set(HEAVY), (argv, sorted(loaded & set(HEAVY)))
