"""Figures drawn by a worker process beside the analysis (report/drawing.py): the same files as drawn in process,
a worker that cannot draw costs only time, and the worker never re-runs the caller's script."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from report_fixtures import grades_run, stub_run

from overthink.report import drawing, figures
from overthink.report.html import build_context


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    return [stub_run(base / "inv"), stub_run(base / "nat", model="stub:flat", natural=4), grades_run(base / "g")]


def _context(runs, out, worker: bool):
    with drawing.Drawer(out / "figures", worker=worker) as drawer:
        context = build_context(runs, out, n_boot=100, drawer=drawer)
        return context, drawer.in_worker


def test_the_worker_draws_the_same_figures_as_the_main_process(runs, tmp_path):
    here, _ = _context(runs, tmp_path / "here", worker=False)
    there, by_worker = _context(runs, tmp_path / "there", worker=True)
    assert list(there["figures"]) == list(here["figures"])  # same figures, same names, same order
    assert set(by_worker) == set(here["figures"])  # every one of them came from the worker
    names = sorted(p.name for p in (tmp_path / "here" / "figures").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "there" / "figures").iterdir())
    assert {"curves.png", "factors.pdf", "natural_rank.png", "probes.png"} <= set(names)
    for name in names:
        if name.endswith(".png"):  # Agg is deterministic: byte for byte
            assert (tmp_path / "here" / "figures" / name).read_bytes() == \
                (tmp_path / "there" / "figures" / name).read_bytes(), name
    for svg in there["figures"].values():
        assert svg.startswith("<svg")


def _broken_figure(table):
    raise ValueError("this builder always fails")


def test_a_figure_the_worker_cannot_draw_is_drawn_in_process_where_its_error_is_raised(runs, tmp_path):
    with drawing.Drawer(tmp_path, worker=True) as drawer:
        assert drawer.proc is not None
        drawer.add("broken", _broken_figure, None)
        with pytest.raises(ValueError, match="always fails"):
            drawer.figures()


def test_a_dead_worker_costs_only_time(runs, tmp_path):
    import pandas as pd

    table = pd.DataFrame({"task": ["t"] * 2, "model": ["m"] * 2, "mechanism": ["forced"] * 2, "budget": [0, 64],
                          "metric": ["accuracy"] * 2, "score": [0.5, 0.4], "ci_low": [0.3, 0.2],
                          "ci_high": [0.7, 0.6], "mean_reasoning_tokens": [0.0, 60.0], "n_items_scored": [10, 10]})
    with drawing.Drawer(tmp_path, worker=True) as drawer:
        drawer.proc.kill()
        drawer.proc.wait()
        drawer.add("curves", figures.curve_figure, table)
        out = drawer.figures()
    assert out["curves"].startswith("<svg") and drawer.in_worker == []
    assert (tmp_path / "curves.png").stat().st_size > 1000


def test_the_worker_does_not_run_the_callers_script_again(runs, tmp_path):
    # multiprocessing's spawn would import a script without a __main__ guard in the child: its side effects twice
    marker = tmp_path / "ran.txt"
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent(f"""
        from pathlib import Path
        import overthink.report.drawing as drawing
        from overthink.report.html import build_report
        with open({str(marker)!r}, "a") as f:
            f.write("ran\\n")
        drawing.WORKER_FROM = 0
        build_report([{str(runs[0])!r}], {str(tmp_path / "r.html")!r}, n_boot=50)
    """))
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert marker.read_text() == "ran\n"
    assert (tmp_path / "figures" / "curves.png").is_file()
