"""The paper's protocol as resumable experiment cells, its reports, and the command line.

Modules by job: ``_config`` (what decides results, presets), ``_cells`` (the grid's
cells and how one is computed), ``_store`` (finished cells on disk), ``_driver`` (the
resumable run over a configuration), ``_tables`` / ``_figures`` / ``_outputs`` (the
tables, figures and report written from the cells) and ``_cli`` (the command line).
``_mitigation`` measures the paper's mitigations.

Names load on first use, so that the command line starts without the numerical stack.
"""

import importlib

_WHERE = {
    "PAPER_TABLE1": "_tables",
    "PAPER_TABLE2": "_tables",
    "CellStore": "_store",
    "DPSGDCallback": "_mitigation",
    "DamagedCellWarning": "_store",
    "MitigationConfig": "_mitigation",
    "ReproductionConfig": "_config",
    "build_tables": "_tables",
    "cell_key": "_store",
    "iter_cells": "_cells",
    "load_data": "_cells",
    "plot_steps": "_figures",
    "run_mitigation_study": "_mitigation",
    "run_reproduction": "_driver",
    "write_mitigation_report": "_mitigation",
    "write_report": "_outputs",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_WHERE])
