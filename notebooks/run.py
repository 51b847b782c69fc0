"""Executes the notebooks top to bottom; exits non-zero when a cell fails or when a cell that
draws a chart (`plt.show()`, `...Display.from_estimator`) shows no image.

    python notebooks/run.py            # execute, keep the committed files unchanged
    python notebooks/run.py --write    # execute and save the outputs into the notebooks
"""

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def main() -> int:
    write = "--write" in sys.argv[1:]
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        started = time.perf_counter()
        client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}})
        try:
            client.execute()
        except CellExecutionError as error:
            print(f"FAILED {path.relative_to(ROOT)}:\n{error}", file=sys.stderr)
            return 1
        blank = [
            index
            for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "code"
            and ("plt.show()" in cell.source or "Display.from_" in cell.source)
            and not any("image/png" in output.get("data", {}) for output in cell.outputs)
        ]
        if blank:
            print(f"FAILED {path.relative_to(ROOT)}: chart cell(s) {blank} rendered no image", file=sys.stderr)
            return 1
        charts = sum(
            "image/png" in output.get("data", {})
            for cell in notebook.cells
            if cell.cell_type == "code"
            for output in cell.outputs
        )
        print(f"ok {path.relative_to(ROOT)} ({time.perf_counter() - started:.1f} s, {charts} charts)")
        if write:
            nbformat.write(notebook, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
