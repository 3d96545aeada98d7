import json

from helpers import run_cli


def test_run_summary_export_roundtrip(tmp_path):
    run_dir = tmp_path / "r"
    res = run_cli("run", "--model", "stub:inverse", "--task", "misleading-math", "--budgets", "0,64,1024",
                  "--limit", "12", "--replicates", "2", "--run-dir", str(run_dir), "--quiet")
    assert res.returncode == 0, res.stderr
    assert "verdict misleading-math / stub:inverse (forced)" in res.stdout
    assert (run_dir / "figures" / "curves.png").stat().st_size > 1000
    assert (run_dir / "figures" / "curves.svg").exists()

    res = run_cli("summary", str(run_dir))
    assert res.returncode == 0 and "misleading-math" in res.stdout and "1024" in res.stdout

    res = run_cli("export", str(run_dir), "--format", "jsonl")
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(rows) == 12 * 3 * 2
    assert {r["budget"] for r in rows} == {0, 64, 1024}
    assert all(r["status"] == "ok" and r["num_distractors"] is not None for r in rows)

    out = tmp_path / "s.csv"
    res = run_cli("export", str(run_dir), "--format", "csv", "--out", str(out))
    assert res.returncode == 0 and out.read_text().count("\n") >= 72

    # `run` on an existing run dir continues it with its stored config: nothing left to do
    res = run_cli("run", "--run-dir", str(run_dir), "--quiet")
    assert res.returncode == 0 and "ran 0 of 0" in res.stderr


def test_user_errors_exit_2_without_traceback(tmp_path):
    for args in (("summary", str(tmp_path / "missing")), ("resume", str(tmp_path)),
                 ("export", str(tmp_path), "--format", "xml"),
                 ("export", str(tmp_path), "--labels", "--format", "parquet"),
                 ("run", "--model", "stub:oracle", "--task", "misleading-math", "--budgets", "0,lots"),
                 ("run", "--model", "stub:oracle", "--task", "misleading-math", "--task-args", "{bad json")):
        res = run_cli(*args, cwd=tmp_path)
        assert res.returncode == 2, (args, res.stderr)
        assert res.stderr.startswith("error: ") and "Traceback" not in res.stderr, args


def test_task_args_reach_the_task(tmp_path):
    run_dir = tmp_path / "r"
    res = run_cli("run", "--model", "stub:oracle", "--task", "misleading-math", "--budgets", "0", "--limit", "6",
                  "--task-args", "distractors=4", "--run-dir", str(run_dir), "--quiet")
    assert res.returncode == 0, res.stderr
    rows = [json.loads(x) for x in run_cli("export", str(run_dir)).stdout.splitlines()]
    assert {r["num_distractors"] for r in rows} == {4}
