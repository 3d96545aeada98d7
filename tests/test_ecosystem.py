"""overthink both ways with inspect_ai and Hugging Face datasets (docs/ecosystem.md):

- overthink's tasks as an inspect_ai extension, run by the real `inspect eval` against the local OpenAI wire server,
  imported back: the same curves, sample for sample, as the same items run through overthink's own sweep
  (overthink.api.run, the work of `overthink run`);
- `overthink export --format inspect`: logs written by inspect_ai's own writer, read by its reader, imported back to
  the same curves;
- `overthink tasks export --format hf`: a dataset folder that the real `datasets` package loads.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from servers.fake_api import EFFORT_TOKENS, FakeAPI
from typer.testing import CliRunner

import overthink.api
from overthink.cli import app
from overthink.store import Store

# inspect_ai is imported by the tests that use it (~2.5 s of CPU): an xdist worker that collects this file but runs
# none of it does not pay for it
pytestmark = pytest.mark.skipif(importlib.util.find_spec("inspect_ai") is None, reason="inspect_ai is not installed")

EFFORTS = ("low", "medium", "high")
N_ITEMS = 8
KEY = "sk-test-not-a-secret"


def ot(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def answer_by_item(body: dict, think: int) -> str:
    """The fake model is right on items without the 'riddle' distractor and answers 3 on those with it."""
    return "3" if "riddle" in json.dumps(body) else "2"


def curve(run: Path) -> dict[tuple, tuple]:
    """(budget, item, replicate) -> (status, correct, reasoning tokens) of every sample."""
    with Store(run, create=False, readonly=True) as store:
        return {(r["budget"], r["item_id"], r["replicate"]): (r["status"], r["correct"], r["reasoning_tokens"])
                for r in store.iter_samples(with_text=False)}


def scores(run: Path) -> list[tuple]:
    res = ot("summary", run, "--json")
    assert res.exit_code == 0, res.output
    return [(s["task"], s["budget"], s["n"], s["score"], s["mean_reasoning_tokens"])
            for s in json.loads(res.output)["scores"]]


@pytest.fixture(scope="module")
def server():
    api = FakeAPI(answer_for=answer_by_item).start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def env(server, tmp_path_factory):
    # No PYTHONPATH: inspect_ai names a task `overthink/...` only when it finds overthink installed (the editable
    # install); a src/ on PYTHONPATH would be found first, through its egg-info, as not installed. `inspect_cli` puts
    # this checkout's src/ where the editable install puts its own.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "OPENAI_API_KEY": KEY, "OVERTHINK_HOME": str(tmp_path_factory.mktemp("home"))}


@pytest.fixture(scope="module")
def overthink_run(server, env, tmp_path_factory) -> Path:
    """The same items through overthink's own sweep: overthink.api.run, the work of `overthink run` (without the
    summary and figures it prints after)."""
    run = tmp_path_factory.mktemp("ot") / "run"
    with pytest.MonkeyPatch.context() as mp:
        for key in ("OPENAI_API_KEY", "OVERTHINK_HOME"):
            mp.setenv(key, env[key])
        result = overthink.api.run(models=[f"openai:o4-mini@{server.url}/v1"], tasks=["misleading-math"],
                                   task_args={"misleading-math": {"distractors": 3}}, budgets=list(EFFORTS),
                                   mechanism="native", limit=N_ITEMS, run_dir=str(run), say=lambda line: None)
    assert result.exit_code == 0 and result.completed == N_ITEMS * len(EFFORTS)
    return run


# The `inspect` console script (`from inspect_ai._cli.main import main; sys.exit(main())`), with this checkout's
# src/ on the path right after the site-packages holding inspect_ai: before the editable install's src/ (so a
# worktree's child runs the worktree's overthink) and after the installed metadata (so inspect_ai still sees
# overthink as installed).
INSPECT = ("import os, sys; site = next(i for i, p in enumerate(sys.path) if os.path.isdir(os.path.join(p, "
           "'inspect_ai'))); sys.path.insert(site + 1, {src!r}); import overthink; "
           "assert overthink.__file__.startswith({src!r}), overthink.__file__; "
           "from inspect_ai._cli.main import main; sys.argv[0] = 'inspect'; sys.exit(main())")


def inspect_cli(*args: object, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    """`inspect ARGS` in a child process: inspect_ai's real CLI, running this checkout's overthink."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    return subprocess.run([sys.executable, "-c", INSPECT.format(src=src), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


# -- overthink's tasks inside inspect_ai ----------------------------------------------------------------------
@pytest.mark.slow
def test_inspect_eval_of_overthink_task_imports_to_the_same_curves(server, env, overthink_run, tmp_path):
    logs = tmp_path / "logs"
    # One eval for the three efforts: a --model-spec per effort runs the same model under its own generate config
    # and writes its own log (one inspect process, not three: each pays ~10 s of CPU importing inspect_ai's SDKs).
    specs = [json.dumps({"model": "openai/o4-mini", "base_url": f"{server.url}/v1", "reasoning_effort": effort})
             for effort in EFFORTS]
    res = inspect_cli("eval", "overthink/misleading_math", "-T", f"n={N_ITEMS}", "-T", "distractors=3",
                      *[arg for spec in specs for arg in ("--model-spec", spec)], "--log-dir", logs,
                      "--display", "plain", env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    res = ot("import", logs, "--run-dir", tmp_path / "imported")
    assert res.exit_code == 0, res.output
    got, want = curve(tmp_path / "imported"), curve(overthink_run)
    assert got == want  # same ids, same budgets, same statuses and grades, same reasoning tokens
    assert {c for _, c, _ in want.values()} == {True, False}  # the curve is not trivially all right or all wrong
    assert scores(tmp_path / "imported") == scores(overthink_run)
    # the budget rides in each log's generate config; each log scores with overthink's scorer
    from inspect_ai.log import read_eval_log

    headers = [read_eval_log(str(path), header_only=True) for path in sorted(logs.glob("*.eval"))]
    assert sorted(log.eval.model_generate_config.reasoning_effort for log in headers) == sorted(EFFORTS)
    assert all(log.eval.task_registry_name == "overthink/misleading_math" for log in headers)
    assert all("overthink" in log.results.scores[0].name for log in headers)
    assert {r[2] for r in want.values() if r[0] == "ok"} <= {EFFORT_TOKENS[e] for e in EFFORTS}


def test_every_builtin_family_is_an_inspect_task():
    from inspect_ai._eval.registry import task_create

    for name, options in [("misleading_math", {"distractors": 2}), ("misleading_python", {}),
                          ("famous_paradoxes", {}), ("grades_regression", {}), ("zebra", {}),
                          ("word_problems", {})]:
        task = task_create(f"overthink/{name}", n=3, model="openai/x", **options)
        assert len(task.dataset) == 3, name
        sample = task.dataset[0]
        assert "<answer>" in str(sample.input) and sample.target and sample.id
        assert sample.metadata["overthink_task"] == name.replace("_", "-")


def test_an_unknown_task_option_is_refused_with_overthinks_line():
    from inspect_ai._eval.registry import task_create
    from inspect_ai._util.error import PrerequisiteError

    with pytest.raises(PrerequisiteError, match="unknown option.*'bogus'"):
        task_create("overthink/misleading_math", n=3, bogus=1)


def test_a_dataset_task_without_its_data_says_how_to_fetch(tmp_path, monkeypatch):
    from inspect_ai._eval.registry import task_create
    from inspect_ai._util.error import PrerequisiteError

    monkeypatch.setenv("OVERTHINK_HOME", str(tmp_path))
    with pytest.raises(PrerequisiteError, match="overthink data fetch"):
        task_create("overthink/gsm8k", n=3)


@pytest.mark.asyncio
async def test_the_scorer_is_overthinks_grade():
    """C / I by overthink's own extraction; an output without an <answer> tag is NOANSWER with status unparsed."""
    from inspect_ai._eval.registry import task_create
    from inspect_ai.model import ModelOutput
    from inspect_ai.scorer import Target
    from inspect_ai.solver import TaskState

    task = task_create("overthink/misleading_math", n=1)
    sample = task.dataset[0]
    scorer = task.scorer[0]
    for text, value, status in [("<answer>2</answer>", "C", "ok"), ("<answer>5</answer>", "I", "ok"),
                                ("two, I think", "N", "unparsed")]:
        state = TaskState(model="m", sample_id=sample.id, epoch=1, input=sample.input, messages=[],
                          output=ModelOutput.from_content("m", text), metadata=sample.metadata)
        score = await scorer(state, Target(sample.target))
        assert (score.value, score.metadata["status"]) == (value, status), text


# -- overthink's runs in inspect's viewer ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def stub_run(tmp_path_factory) -> Path:
    """A run with errors and wrong answers that vary with the budget (the stub's inverse mode)."""
    base = tmp_path_factory.mktemp("stub")
    result = overthink.api.run({"model_options": {"stub:inverse": {"fail_every": 9}}}, models=["stub:inverse"],
                               tasks=["misleading-math"], budgets=[0, 256, 1024], limit=6, replicates=2,
                               run_dir=str(base / "run"), say=lambda line: None)
    assert result.exit_code in (0, 3), result  # 3: some samples ended with an (injected) error
    return base / "run"


def test_export_inspect_writes_logs_inspect_reads_and_imports_back(stub_run, tmp_path):
    from inspect_ai.log import read_eval_log

    out = tmp_path / "logs"
    res = ot("export", stub_run, "--format", "inspect", "--out", out)
    assert res.exit_code == 0, res.output
    files = sorted(out.glob("*.eval"))
    assert len(files) == 3  # one per task x model x mechanism x budget
    statuses = set()
    for path in files:
        log = read_eval_log(str(path))
        assert log.status == "success" and log.eval.model_generate_config.reasoning_tokens in (0, 256, 1024)
        for sample in log.samples:
            usage = sample.model_usage[log.eval.model]
            assert sample.target
            if sample.error is not None:
                statuses.add("error")
                assert "injected failure" in sample.error.message and not sample.scores
            else:
                statuses.add(next(iter(sample.scores.values())).value)
                assert usage.reasoning_tokens is not None
                reasoning = [c for c in sample.output.message.content if c.type == "reasoning"]
                assert bool(reasoning) == bool(usage.reasoning_tokens)
    assert statuses >= {"C", "I", "error"}
    res = ot("import", out, "--run-dir", tmp_path / "back")
    assert res.exit_code == 0, res.output
    assert curve(tmp_path / "back") == {k: v for k, v in curve(stub_run).items()}
    with Store(tmp_path / "back", create=False, readonly=True) as store:
        mechanisms = {r["mechanism"] for r in store.iter_samples(with_text=False)}
    with Store(stub_run, create=False, readonly=True) as store:
        assert mechanisms == {r["mechanism"] for r in store.iter_samples(with_text=False)}


def test_export_inspect_needs_a_folder(stub_run, tmp_path):
    res = ot("export", stub_run, "--format", "inspect")
    assert res.exit_code == 2 and "give --out DIR" in res.output
    (tmp_path / "f").write_text("x")
    res = ot("export", stub_run, "--format", "inspect", "--out", tmp_path / "f")
    assert res.exit_code == 2 and "is a file" in res.output


def test_export_inspect_redacts_a_key_in_the_environment(stub_run, tmp_path, monkeypatch):
    """A key the store somehow holds (here: planted in an answer) never reaches an exported log."""
    key = "sk-live-" + "9f3c2a7b" * 4
    with Store(stub_run, create=False, readonly=False) as store:
        store.conn.execute("UPDATE samples SET answer_text = ? WHERE id = 1", (f"my key is {key}",))
        store.conn.commit()
    monkeypatch.setenv("SOMEPROVIDER_API_KEY", key)
    out = tmp_path / "logs"
    assert ot("export", stub_run, "--format", "inspect", "--out", out).exit_code == 0
    for path in out.glob("*.eval"):
        blob = path.read_bytes()
        import zipfile

        with zipfile.ZipFile(path) as z:
            text = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        assert key[8:24] not in text and key.encode() not in blob


# -- the suite as a dataset -----------------------------------------------------------------------------------
def test_tasks_export_hf_loads_with_datasets(tmp_path):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "suite"
    res = ot("tasks", "export", "misleading-math,zebra,grades-regression", "--n", 4, "--format", "hf",
             "--out", out, "--task-args", "misleading-math.distractors=2")
    assert res.exit_code == 0, res.output
    ds = datasets.load_dataset("parquet", data_dir=str(out / "data"))
    split = next(iter(ds.values()))
    assert split.num_rows == 12 and sorted(set(split["task"])) == ["grades-regression", "misleading-math", "zebra"]
    one = datasets.load_dataset(str(out), "zebra")["test"]
    assert one.num_rows == 4 and all("<answer>" in p for p in one["rendered_prompt"])
    card = (out / "README.md").read_text()
    assert "canary GUID" in card and "seed 0" in card and '"distractors": 2' in card
    header = yaml.safe_load(card.split("---")[1])
    assert header["license"] == "mit" and {c["config_name"] for c in header["configs"]} >= {"zebra"}
    # the same items as overthink's own JSONL export
    ot("tasks", "export", "zebra", "--n", 4, "--out", tmp_path / "z.jsonl")
    ids = [json.loads(line)["id"] for line in (tmp_path / "z.jsonl").read_text().splitlines()]
    assert one["id"] == ids


def test_tasks_export_hf_refuses_a_file_name(tmp_path):
    res = ot("tasks", "export", "zebra", "--format", "hf", "--out", tmp_path / "x.jsonl")
    assert res.exit_code == 2 and "dataset folder" in res.output


@pytest.mark.slow
def test_inspect_view_shows_the_exported_run(stub_run, tmp_path):
    """`inspect view` serves the exported logs and headless Chromium renders the task and its samples."""
    from browser import CHROMIUM

    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    from browser import ARGS

    out = tmp_path / "logs"
    assert ot("export", stub_run, "--format", "inspect", "--out", out).exit_code == 0
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    # the viewer starts while Chromium launches; then wait for its port, not a fixed time
    with open(tmp_path / "view.log", "w") as view_log:
        view = subprocess.Popen([str(Path(sys.executable).with_name("inspect")), "view", "--log-dir", str(out),
                                 "--host", "127.0.0.1", "--port", str(port)], stdout=view_log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and view.poll() is None:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                    break
                except OSError:
                    time.sleep(0.1)
            assert view.poll() is None, (tmp_path / "view.log").read_text()
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("text=misleading-math", timeout=60_000)
            text = page.inner_text("body")
            assert "overthink/misleading-math" in text or "misleading-math" in text
            page.screenshot(path=str(tmp_path / "inspect_view.png"))
            page.click("text=overthink/misleading-math >> nth=0")
            page.wait_for_selector("text=mm-0-00000", timeout=60_000)  # the samples of the budget-0 log
            page.screenshot(path=str(tmp_path / "inspect_view_log.png"))
            browser.close()
    finally:
        os.killpg(view.pid, 15)
        view.wait(timeout=20)
