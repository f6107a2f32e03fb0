"""The paper's protocol as resumable experiment cells, its reports, and the command line.

Modules by job: ``_config`` (what decides results, presets), ``_cells`` (the grid's
cells and how one is computed), ``_store`` (finished cells on disk), ``_driver`` (the
resumable run over a configuration), ``_tables`` / ``_figures`` / ``_outputs`` (the
tables, figures and report written from the cells) and ``_cli`` (the command line).
``_mitigation`` measures the paper's mitigations.
"""

from ._cells import iter_cells, load_data
from ._config import ReproductionConfig
from ._driver import run_reproduction
from ._figures import plot_steps
from ._mitigation import (
    DPSGDCallback,
    MitigationConfig,
    run_mitigation_study,
    write_mitigation_report,
)
from ._outputs import write_report
from ._store import CellStore, cell_key
from ._tables import PAPER_TABLE1, PAPER_TABLE2, build_tables

__all__ = [
    "PAPER_TABLE1",
    "PAPER_TABLE2",
    "CellStore",
    "DPSGDCallback",
    "MitigationConfig",
    "ReproductionConfig",
    "build_tables",
    "cell_key",
    "iter_cells",
    "load_data",
    "plot_steps",
    "run_mitigation_study",
    "run_reproduction",
    "write_mitigation_report",
    "write_report",
]
