"""The paper's protocol as resumable experiment cells, its reports, and the command line."""

from ._protocol import ReproductionConfig, iter_cells, load_data, run_reproduction
from ._report import PAPER_TABLE1, PAPER_TABLE2, build_tables, plot_steps, write_report
from ._store import CellStore, cell_key

__all__ = [
    "PAPER_TABLE1",
    "PAPER_TABLE2",
    "CellStore",
    "ReproductionConfig",
    "build_tables",
    "cell_key",
    "iter_cells",
    "load_data",
    "plot_steps",
    "run_reproduction",
    "write_report",
]
