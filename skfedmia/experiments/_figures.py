"""The paper's figures 1-3 drawn from the per-step records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ._verdicts import mean_interval

__all__ = ["plot_steps", "step_series"]

# (column, legend text, colour, line style, line width) of each panel's lines
_TARGET_LINES = [
    ("target_accuracy_attacked", "target acc. on the attacked node's rows", "tab:blue", "-", 1.4),
    ("target_accuracy_test", "target acc. on the test set", "tab:cyan", "--", 1.4),
]
_ATTACK_LINES = [
    ("accuracy", "attack accuracy", "tab:red", "-", 1.8),
    ("roc_auc", "attack AUC", "tab:purple", "-", 1.8),
    ("precision", "attack precision", "tab:orange", ":", 1.0),
    ("recall", "attack recall", "tab:green", "-.", 1.0),
]
_TPR = ("tpr_at_1_fpr", "attack TPR at 1% FPR", "tab:brown")
# beyond the paper: offline LiRA and RMIA over the shadow federation, recorded right after
# the attacked node's steps and the last step (absent in cells stored before them, then
# not drawn); their points are joined across the steps without them
_BEYOND_AUC_LINES = [
    ("lira_roc_auc", "LiRA AUC (beyond the paper)", "tab:gray", "--", 1.2),
    ("rmia_roc_auc", "RMIA AUC (beyond the paper)", "tab:olive", "--", 1.2),
]
_BEYOND_TPR_LINES = [
    ("lira_tpr_at_1_fpr", "LiRA TPR at 1% FPR", "tab:gray", "--", 1.2),
    ("rmia_tpr_at_1_fpr", "RMIA TPR at 1% FPR", "tab:olive", "--", 1.2),
]
# with more nodes than this, only the attacked node's steps are labelled on the x axis
_LABEL_EVERY_STEP = 5


def step_series(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """One value per node step of ``column``: the mean over seeds and its 95% interval.

    With several seeds the interval is the Student-t interval of the mean over seeds (as
    in the report's tables); with one seed it is the interval the monitor recorded for
    that step (``<column>_low`` / ``<column>_high``, from the attack's evaluation set),
    or none when the record has no interval.

    Parameters
    ----------
    rows : pandas.DataFrame
        Monitor records of one setting and one attacked node, any number of seeds, with
        columns ``step``, ``label``, ``cycle``, ``node``, ``seed`` and ``column``.
    column : str

    Returns
    -------
    series : pandas.DataFrame
        ``step``, ``label``, ``cycle``, ``node``, ``mean``, ``low``, ``high`` and
        ``seeds``, one row per step in step order.

    Examples
    --------
    >>> import pandas as pd
    >>> from skfedmia.experiments._figures import step_series
    >>> rows = pd.DataFrame(dict(step=[0, 0, 1, 1], label=["C1N1", "C1N1", "C1N2", "C1N2"],
    ...                          cycle=0, node=[0, 0, 1, 1], seed=[0, 1, 0, 1],
    ...                          accuracy=[0.8, 0.9, 0.6, 0.6]))
    >>> s = step_series(rows, "accuracy")
    >>> s["mean"].round(2).tolist(), bool(s["low"][0] < 0.85 < s["high"][0])
    ([0.85, 0.6], True)
    """
    out = []
    for (step, label, cycle, node), part in rows.groupby(
        ["step", "label", "cycle", "node"], sort=True
    ):
        values = part[column].to_numpy(dtype=float)
        seeds = int(part["seed"].nunique()) if "seed" in part else len(part)
        mean, low, high = mean_interval(values)
        if seeds == 1 and f"{column}_low" in part and f"{column}_high" in part:
            low = float(part[f"{column}_low"].astype(float).mean())
            high = float(part[f"{column}_high"].astype(float).mean())
        out.append(
            {
                "step": step,
                "label": label,
                "cycle": cycle,
                "node": node,
                "mean": mean,
                "low": low,
                "high": high,
                "seeds": seeds,
            }
        )
    columns = ["step", "label", "cycle", "node", "mean", "low", "high", "seeds"]
    return pd.DataFrame(out, columns=columns).sort_values("step", ignore_index=True)


def _mark_steps(ax, steps, attacked, cycle_text):
    """Grey lines at the attacked node's steps, dashed ones between cycles."""
    for x in steps.loc[steps["node"] == attacked, "step"]:
        ax.axvline(x, color="grey", alpha=0.35, linewidth=0.9, zorder=0)
    firsts = steps.groupby("cycle")["step"].min().sort_index()
    for cycle, x in firsts.items():
        if x != firsts.iloc[0]:
            ax.axvline(x - 0.5, color="black", linestyle="--", linewidth=0.8, alpha=0.6)
        if cycle_text:
            ax.text(
                x - 0.4,
                1.0,
                f"C{int(cycle) + 1}",
                transform=ax.get_xaxis_transform(),
                fontsize=7,
                va="bottom",
                ha="left",
                color="dimgrey",
            )


def _x_axis(ax, steps, attacked, n_nodes):
    if n_nodes <= _LABEL_EVERY_STEP:
        ax.set_xticks(steps["step"], steps["label"], rotation=90, fontsize=7)
    else:
        own = steps[steps["node"] == attacked]
        ax.set_xticks(own["step"], own["label"], fontsize=7)
        ax.set_xticks(steps["step"], minor=True)
    ax.set_xlim(steps["step"].min() - 0.7, steps["step"].max() + 0.7)
    ax.grid(axis="y", alpha=0.3)


def _draw_lines(ax, rows, lines, *, join=False):
    for col, name, color, style, width in lines:
        if col in rows and rows[col].notna().any():
            s = step_series(rows, col)
            if join:  # a line through the steps that have the figure
                s = s[np.isfinite(s["mean"].to_numpy(dtype=float))]
            ax.plot(
                s["step"],
                s["mean"],
                style,
                color=color,
                label=name,
                marker="o",
                markersize=2.5,
                linewidth=width,
            )


def plot_steps(steps: pd.DataFrame, folder) -> list[Path]:
    """One figure per node count, laid out like the paper's figures 1-3 as small multiples.

    One row of panels per (class count, epochs per node, attacked node); the x axis is
    the model state CiNj after every node step, grey lines mark the attacked node's
    steps and dashed lines the starts of cycles. The columns are the target model
    (accuracy on the attacked node's rows and on the test set), the insider attack on
    the attacked node's rows (accuracy, AUC, precision, recall) and its TPR at 1% FPR
    with a 95% band; where the cells hold them, the AUC and TPR at 1% FPR of offline
    LiRA and RMIA (beyond the paper) as dashed lines through the attacked node's steps.
    Values are means over seeds; the band is the 95% interval over seeds, or with one
    seed the step's own interval (see :func:`step_series`). The legend sits below the
    panels. Files: ``figure_nodes_<n>.png``.

    Parameters
    ----------
    steps : pandas.DataFrame
        The per-step table of :func:`build_tables`.
    folder : str or Path
        Folder of the PNG files, created if needed.

    Returns
    -------
    paths : list of Path
        The PNG files written, one per node count.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    if steps.empty:
        return paths
    steps = steps.assign(attacked=steps["attacked"].astype(str))
    node_rows = steps[steps["attacked"] != "all"]
    for n_nodes, by_nodes in node_rows.groupby("n_nodes"):
        n_nodes = int(n_nodes)
        panels = sorted(
            {
                (int(c), int(e), int(a))
                for c, e, a in by_nodes[["n_classes", "local_epochs", "attacked"]].itertuples(
                    index=False
                )
            }
        )
        n_steps = by_nodes["step"].nunique()
        width = min(7.5, 2.6 + 0.07 * n_steps)
        fig, axes = plt.subplots(
            len(panels),
            3,
            figsize=(3 * width, 0.9 + 2.7 * len(panels)),
            squeeze=False,
            sharex="row",
            layout="constrained",
        )
        for row, (c, e, a) in enumerate(panels):
            rows = by_nodes[
                (by_nodes["n_classes"] == c)
                & (by_nodes["local_epochs"] == e)
                & (by_nodes["attacked"] == str(a))
            ]
            where = rows.groupby("step", as_index=False)[["cycle", "node", "label"]].first()
            target_ax, attack_ax, tpr_ax = axes[row]
            _draw_lines(target_ax, rows, _TARGET_LINES)
            _draw_lines(attack_ax, rows, _ATTACK_LINES)
            _draw_lines(attack_ax, rows, _BEYOND_AUC_LINES, join=True)
            attack_ax.axhline(0.5, color="grey", linestyle=":", linewidth=0.8, label="chance")
            col, name, color = _TPR
            if col in rows and rows[col].notna().any():
                s = step_series(rows, col)
                low, high = s["low"].clip(0, 1), s["high"].clip(0, 1)
                band = "95% interval over seeds" if s["seeds"].max() > 1 else "95% interval"
                tpr_ax.plot(
                    s["step"],
                    s["mean"],
                    "-",
                    color=color,
                    label=name,
                    marker="o",
                    markersize=2.5,
                    linewidth=1.8,
                )
                tpr_ax.fill_between(
                    s["step"], low, high, color=color, alpha=0.25, linewidth=0, label=band, zorder=1
                )
                _draw_lines(tpr_ax, rows, _BEYOND_TPR_LINES, join=True)
                beyond = [rows[c].max() for c, *_ in _BEYOND_TPR_LINES if c in rows]
                top = float(np.nanmax([high.max(), s["mean"].max(), 0.05, *beyond]))
                tpr_ax.set_ylim(0, min(1.02, 1.1 * top + 0.01))
            tpr_ax.axhline(0.01, color="grey", linestyle=":", linewidth=0.8, label="chance")
            for ax in (target_ax, attack_ax):
                ax.set_ylim(0, 1.02)
            for ax in axes[row]:
                _mark_steps(ax, where, a, cycle_text=True)
                _x_axis(ax, where, a, n_nodes)
            target_ax.set_ylabel(f"{c} classes\n{e} epochs / node", fontsize=9)
            attack_ax.set_title(f"insider attack on N{a + 1}'s rows", fontsize=9, pad=12)
            target_ax.set_title("target model", fontsize=9, pad=12)
            tpr_ax.set_title(f"TPR at 1% FPR on N{a + 1}'s rows", fontsize=9, pad=12)
        handles, labels = [], []
        for ax in axes[0]:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labels:
                    handles.append(h)
                    labels.append(lab)
        fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=8)
        fig.suptitle(
            f"Membership inference by an insider in sequential federated learning, "
            f"{n_nodes} nodes (grey: the attacked node's steps; dashed: new cycle)",
            fontsize=10,
        )
        path = folder / f"figure_nodes_{n_nodes}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
