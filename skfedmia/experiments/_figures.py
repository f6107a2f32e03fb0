"""The paper's figures 1-3 drawn from the per-step records."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["plot_steps"]


def plot_steps(steps: pd.DataFrame, folder) -> list[Path]:
    """One figure per node count, laid out like the paper's figures 1-3.

    One panel per (class count, epochs per node), stacked; the x axis is the model
    state CiNj, lines are the target's accuracy on N1's rows and on the test set and the
    attack's accuracy, precision and recall on N1's rows (averaged over seeds).

    Parameters
    ----------
    steps : pandas.DataFrame
        The per-step table of :func:`build_tables`.
    folder : str or Path
        Folder of the PNG files, created if needed.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    if steps.empty:
        return paths
    node_rows = steps[steps["attacked"].astype(str) != "all"]
    lines = [
        ("target_accuracy_attacked", "target acc. on N1 rows", "tab:blue", "-"),
        ("target_accuracy_test", "target acc. on test set", "tab:cyan", "--"),
        ("accuracy", "attack accuracy", "tab:red", "-"),
        ("precision", "attack precision", "tab:orange", ":"),
        ("recall", "attack recall", "tab:green", "-."),
    ]
    for n_nodes, by_nodes in node_rows.groupby("n_nodes"):
        classes = sorted(by_nodes["n_classes"].unique())
        epochs = sorted(by_nodes["local_epochs"].unique())
        panels = [(c, e) for c in classes for e in epochs]
        n_steps = by_nodes["step"].nunique()
        fig, axes = plt.subplots(
            len(panels),
            1,
            figsize=(min(16, 4 + 0.25 * n_steps), 3.4 * len(panels)),
            squeeze=False,
            sharey=True,
            layout="constrained",
        )
        for row, (c, e) in enumerate(panels):
            ax = axes[row][0]
            cell = by_nodes[(by_nodes["n_classes"] == c) & (by_nodes["local_epochs"] == e)]
            cell = cell.groupby(["step", "label"], as_index=False).mean(numeric_only=True)
            cell = cell.sort_values("step")
            for col, name, color, style in lines:
                if col in cell and cell[col].notna().any():
                    ax.plot(
                        cell["step"],
                        cell[col],
                        style,
                        color=color,
                        label=name,
                        marker="o",
                        markersize=2.5,
                        linewidth=1.2,
                    )
            ax.set_xticks(cell["step"])
            ax.set_xticklabels(cell["label"], rotation=90, fontsize=6)
            ax.set_ylim(0, 1.02)
            ax.grid(alpha=0.3)
            ax.set_title(f"{c} classes, {e} epochs per node", fontsize=9)
            n1 = cell[cell["label"].str.endswith("N1")]
            for x in n1["step"]:
                ax.axvline(x, color="grey", alpha=0.25, linewidth=0.8)
        axes[0][0].legend(fontsize=7, loc="lower right")
        fig.suptitle(
            f"Membership inference on N1 in sequential federated learning, {n_nodes} nodes"
        )
        path = folder / f"figure_nodes_{n_nodes}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths
