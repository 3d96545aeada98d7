"""`overthink report RUN_DIR [RUN_DIR ...] [--out report.html]`: the HTML report (thin; see report/html.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, help="Write the HTML report for one or more runs.")


@app.command()
def report(
    run_dirs: Annotated[list[Path], typer.Argument(help="one or more run directories, compared side by side")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="the HTML file to write (default: "
                                             "RUN_DIR/report.html for one run, ./report.html for several)")] = None,
    n_boot: Annotated[int, typer.Option(help="bootstrap resamples of items for every CI")] = 1000,
    probe_samples: Annotated[int, typer.Option(help="traces read per budget for the text probes")] = 2000,
) -> None:
    """Verdicts, scaling curves, sweet spots and details in one self-contained HTML file (figures also as PNG/PDF)."""
    from ..errors import UserError
    from ..report.html import build_report
    from ..store.schema import DB_NAME

    if n_boot < 100:
        raise UserError(f"--n-boot {n_boot}: use at least 100 resamples for a 95 % CI")
    seen: set[Path] = set()
    unique = [r for r in run_dirs if not (Path(r).resolve() in seen or seen.add(Path(r).resolve()))]
    if len(unique) < len(run_dirs):  # the same run twice would be compared with itself (and broke the analysis)
        typer.echo(f"note: {len(run_dirs) - len(unique)} run dir(s) given twice; each run is reported once", err=True)
        run_dirs = unique
    for run_dir in run_dirs:  # before anything is written: a read of a missing run leaves no directory behind
        if not (Path(run_dir) / DB_NAME).is_file():
            raise UserError(f"{run_dir} is not a run directory (no {DB_NAME} in it)")
    if out is None:
        out = Path(run_dirs[0]) / "report.html" if len(run_dirs) == 1 else Path("report.html")
    path = build_report(run_dirs, out, n_boot=n_boot, probes_per_group=probe_samples)
    typer.echo(f"wrote {path} (figures as PNG and PDF in {path.parent / 'figures'})", err=True)
