#!/usr/bin/env python3
"""Run every command shown in README.md and docs/*.md on a fresh clone; exit 1 when a documented command fails.

A "command shown" is a line of a ```console / ```bash / ```sh block (a leading `$ ` and a trailing `# comment` are
dropped). Each one runs, in order, in a fresh `git clone` of this repository with its own OVERTHINK_HOME, through
the virtualenv `make test` built (`--python`). Only two kinds are skipped, each with its reason printed:
  - commands that need a real API key (an API provider in --model, or a --config whose models are API models);
  - illustrative ones: a path on the author's machine, a server you start yourself, `make test` (CI's own step).
  - `overthink data fetch` (it needs the internet; the check never reaches out to third-party hosts).
To stay within a few minutes on 2 cores, the rest is made small but otherwise kept as written:
  - `overthink run` without --limit gets `--limit 1`, and a --run-dir under runs/ when it names none;
  - a trailing `...` (the docs' "and your usual flags") becomes `--model local:qwen2.5-coder-0.5b --limit 1`, and
    the `--budgets` written there for the user's model become 0,64,256 (the same code paths at CPU size);
  - `a|b|c` in one word runs once per alternative, `[--flag]` once without and once with it;
  - `runs/...`, `runs/my-run`, `runs/a runs/b` name the runs made earlier; `my.jsonl` / `other.csv` are written
    first (a task export and a two-column CSV);
  - `make demo` runs as the command it wraps, `overthink quickstart --limit 1` (installing is what `make test` did);
    `make dev` is only checked to exist (`make -n`);
  - `overthink review` and `inspect view` pass when the server prints its URL (then it is stopped);
  - `inspect eval` needs a model with a key (even inspect's mock model downloads a tokenizer): skipped;
  - `pip install 'overthink[X]'` is resolved with --dry-run from the clone (`-e .[X]`); a package installed from
    the clone (`pip install ./examples/plugin_task`) is uninstalled again at the end.
Usage: python scripts/check_docs.py [--python .venv/bin/python] [--list] [--keep] [--only README.md ...]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
BLOCKS = ("console", "bash", "sh", "shell")
KEY_PROVIDERS = ("anthropic", "openai", "gemini", "openrouter", "anthropic-bedrock", "anthropic-vertex")
LOCAL_FILL = "--model local:qwen2.5-coder-0.5b --limit 1"
# Budgets written for the user's own (API) model; the embedded 0.5B model on 2 shared CPU cores takes ~10 s per
# 256 forced tokens, so 0,1024,4096 over a distracted task's 4 variants took 10-15+ minutes.
LOCAL_BUDGETS = "0,64,256"
ILLUSTRATIVE = {  # substring -> why it cannot run as written
    "~/": "a path on the author's machine",
    "--from prize-files": "the prize files are the user's own download (CC-BY-SA, see docs/data.md)",
    "@http://127.0.0.1:8000": "needs an OpenAI-compatible server you start yourself",
    "prize/memo-trap ": "needs the user-supplied prize files fetched above",
}
SECRETS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "OPENROUTER_API_KEY")


@dataclass
class Shown:
    file: str
    line: int
    text: str


@dataclass
class Step:
    shown: Shown
    command: str | None  # None: skipped
    reason: str = ""
    server: bool = False  # a long-running server: passes once it prints its URL


def shown_commands(root: Path) -> list[Shown]:
    """Lines of the shell blocks of README.md and docs/*.md, in reading order."""
    out = []
    for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        block: str | None = None
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            fence = re.match(r"^\s*```(\w*)", line)
            if fence:
                block = None if block is not None else fence.group(1)
                continue
            if block in BLOCKS and line.strip():
                text = re.sub(r"\s+#\s.*$", "", line.strip().removeprefix("$ ")).strip()
                if text:
                    out.append(Shown(str(path.relative_to(root)), number, text))
    return out


def expand(text: str) -> list[str]:
    """`a|b` words -> one command per alternative; `[x]` -> without and with x."""
    optional = re.search(r"\s\[([^\]]+)\]", text)
    if optional:
        head, tail = text[:optional.start()], text[optional.end():]
        return expand(head + tail) + expand(f"{head} {optional.group(1)}{tail}")
    words = text.split(" ")
    for i, word in enumerate(words):
        if "|" in word and not word.startswith("|"):
            return [c for alt in word.split("|") for c in expand(" ".join([*words[:i], alt, *words[i + 1:]]))]
    return [text]


def _models_of(words: list[str], clone: Path) -> list[str]:
    models = [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("--model", "-m")]
    if "--config" in words:
        cfg = yaml.safe_load((clone / words[words.index("--config") + 1]).read_text()) or {}
        models += list(cfg.get("models") or [])
    return models


class Planner:
    """Turns shown lines into steps (rewrites and skips as the module docstring says)."""

    def __init__(self, clone: Path) -> None:
        self.clone = clone
        self.runs = ["runs/quickstart"]


    def plan(self, shown: Shown) -> list[Step]:
        text = shown.text
        if text.startswith("make test"):
            return [Step(shown, None, "CI's own test command: .ci/run runs it before this script")]
        if text.startswith("make dev"):
            return [Step(shown, "make -n dev >/dev/null")]  # installing every extra is what `make test` did
        if text.startswith("make demo"):
            return [Step(shown, "make -n demo >/dev/null && overthink quickstart --limit 1")]
        if text.startswith("overthink data fetch"):
            # never probed from CI: CI has no internet, and a check must not reach out to third-party hosts
            return [Step(shown, None, "needs the internet (the datasets' upstream hosts)")]
        if text.startswith("pip install") and not text.startswith("pip install ./"):
            # an extra or an editable install: --dry-run, so the venv stays as it is; from a clone the extra
            # `overthink[X]` installs as `-e .[X]`
            rest = re.sub(r"'?overthink\[([\w,]+)\]'?", r"-e '.[\1]'", text.removeprefix("pip install"))
            return [Step(shown, f"python -m pip install --quiet --dry-run{rest}")]
        for marker, why in ILLUSTRATIVE.items():
            if marker in text:
                return [Step(shown, None, f"illustrative: {why}")]
        steps = []
        for command in expand(text):
            steps.append(self._one(shown, command))
        return steps

    def _one(self, shown: Shown, command: str) -> Step:
        command = command.replace("runs/a runs/b", " ".join(self.runs[:2] if len(self.runs) > 1 else self.runs * 2))
        command = re.sub(r"runs/(\.\.\.|my-run)", lambda _: self.runs[-1], command)
        words = command.split()
        if words[:2] == ["overthink", "run"]:
            if command.endswith("..."):
                command = command[:-3].rstrip() + " " + LOCAL_FILL
                command = re.sub(r"--budgets \S+", f"--budgets {LOCAL_BUDGETS}", command)
                words = command.split()
            providers = {m.split(":", 1)[0] for m in _models_of(words, self.clone)}
            if providers & set(KEY_PROVIDERS):
                return Step(shown, None, f"needs a real API key ({', '.join(sorted(providers & set(KEY_PROVIDERS)))})")
            if "--limit" not in words:
                command += " --limit 1"
            if "--run-dir" not in words:
                run = f"runs/docs-{len(self.runs)}"
                self.runs.append(run)
                command += f" --run-dir {run}"
        if words[:2] == ["overthink", "review"] or words[:2] == ["inspect", "view"]:
            return Step(shown, command, server=True)
        if words[:2] == ["inspect", "eval"]:  # inspect's keyless mock model still downloads a tokenizer
            model = words[words.index("--model") + 1] if "--model" in words else "a model"
            return Step(shown, None, f"needs a real API key ({model.split('/', 1)[0]})")
        return Step(shown, command)


def prepare(clone: Path, env: dict[str, str]) -> None:
    """The input files the docs' examples name (`tasks import my.jsonl`, `other.csv`)."""
    subprocess.run(["overthink", "tasks", "export", "misleading-math", "--n", "3", "--out", "my.jsonl"],
                   cwd=clone, env=env, check=True, capture_output=True)
    (clone / "other.csv").write_text("question,target\nHow many legs has a cat? Answer with a number.,4\n"
                                     "How many days has a week? Answer with a number.,7\n", encoding="utf-8")


def run_step(step: Step, clone: Path, env: dict[str, str], timeout: float) -> tuple[bool, str]:
    assert step.command is not None
    if step.server:
        proc = subprocess.Popen(step.command, shell=True, cwd=clone, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        seen = []
        deadline = time.monotonic() + 60
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                seen.append(line)
                if "http://127.0.0.1" in line:
                    return True, ""
                if time.monotonic() > deadline:
                    break
            return False, "".join(seen[-20:]) or f"exited with {proc.wait()} before printing its URL"
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
            proc.wait()
    # its own process group, so a timeout stops the command and not only the shell around it
    proc = subprocess.Popen(step.command, shell=True, cwd=clone, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.communicate()
        return False, f"no result after {timeout:.0f} s"
    if proc.returncode != 0:  # bytes: `export --format parquet` writes binary to stdout
        tail = out.decode("utf-8", errors="replace").splitlines()[-15:]
        return False, f"exit code {proc.returncode}\n" + "\n".join(tail)
    return True, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=str(REPO / ".venv" / "bin" / "python"),
                        help="the virtualenv's python (default: .venv/bin/python, which `make test` builds)")
    parser.add_argument("--source", default=str(REPO), help="the repository to clone (default: this one)")
    parser.add_argument("--list", action="store_true", help="print the plan, run nothing")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--no-prepare", action="store_true", help="write no example input files first")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per command")
    parser.add_argument("--only", action="append", default=[], metavar="FILE",
                        help="check only the commands of this file (README.md, docs/operations.md; repeatable)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="overthink-docs-"))
    clone = work / "clone"
    subprocess.run(["git", "clone", "--quiet", args.source, str(clone)], check=True)
    bin_dir = Path(args.python).parent
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", PYTHONPATH=str(clone / "src"),
               OVERTHINK_HOME=str(work / "home"), VENV=str(bin_dir.parent))
    planner = Planner(clone)
    shown_all = [s for s in shown_commands(clone) if not args.only or s.file in args.only]
    if not any(s.text.startswith("make demo") for s in shown_all):  # --only without README: no quickstart run
        planner.runs = []
    steps = [s for shown in shown_all for s in planner.plan(shown)]
    failed = 0
    installed_before = subprocess.run([args.python, "-m", "pip", "list", "--format", "freeze"], env=env,
                                      capture_output=True, text=True).stdout.lower()
    try:
        if not args.list and not args.no_prepare:
            prepare(clone, env)
        for step in steps:
            where = f"{step.shown.file}:{step.shown.line}"
            if step.command is None:
                print(f"skip {where}: {step.shown.text}\n     ({step.reason})", flush=True)
                continue
            if args.list:
                print(f"run  {where}: {step.command}", flush=True)
                continue
            start = time.monotonic()
            ok, detail = run_step(step, clone, env, args.timeout)
            print(f"{'ok  ' if ok else 'FAIL'} {where} ({time.monotonic() - start:.1f}s): {step.command}", flush=True)
            if not ok:
                failed += 1
                print("     " + detail.replace("\n", "\n     "), flush=True)
    finally:
        if not args.list and "overthink-capitals" not in installed_before:
            subprocess.run([args.python, "-m", "pip", "uninstall", "--quiet", "-y", "overthink-capitals"],
                           env=env, capture_output=True)
        if args.keep:
            print(f"work folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    ran = sum(1 for s in steps if s.command is not None)
    if args.list:
        print(f"{ran} documented commands would run, {len(steps) - ran} skipped")
        return 0
    print(f"{ran - failed} of {ran} documented commands passed, {len(steps) - ran} skipped"
          + (f", {failed} FAILED" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
