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
    from .. import api

    path = api.write_report(run_dirs, out, n_boot=n_boot, probes_per_group=probe_samples,
                            say=lambda line: typer.echo(line, err=True))
    typer.echo(f"wrote {path} (figures as PNG and PDF in {path.parent / 'figures'})", err=True)
