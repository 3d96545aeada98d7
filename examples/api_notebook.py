"""The Python API, notebook-style (docs/api.md shows this file; tests/test_api.py checks the two agree and runs it).
Each `# %%` is a cell. `stub:inverse` is overthink's zero-cost stand-in model (no key, no download): it always
answers 2, wrongly more often the longer it "thinks", so its numbers show the API, not a real model."""
# %% Run a small sweep: a dict with the fields of an experiment YAML (a path or an ExperimentConfig work too).
import overthink

result = overthink.run({
    "models": ["stub:inverse"],
    "tasks": ["misleading-math"],
    "budgets": [0, 256, 1024, 4096],
    "limit": 12,
    "run_dir": "runs/api-example",
})
print(f"{result.completed} samples stored in {result.run_dir} (exit code {result.exit_code})")

# %% Load the run: typed metadata, the samples as a DataFrame, the summary's scores and verdicts.
run = overthink.load(result.run_dir)
print(run.meta.run_id, run.meta.latest_session.status, run.meta.tasks["misleading-math"].metric)
print(run.samples.groupby("budget")["correct"].mean())
print(run.scores[["task", "model", "budget", "n", "score", "ci_low", "ci_high"]].to_string(index=False))
print(run.verdicts[["task", "model", "verdict", "verdict_words"]].to_string(index=False))

# %% Every analysis table (several runs are compared side by side), and the HTML report.
tables = overthink.analyze([result.run_dir], n_boot=200)
print(sorted(tables))
print(tables["sweet_spot"][["task", "model", "peak_budget"]].to_string(index=False))
print(overthink.write_report(result.run_dir, n_boot=200))
