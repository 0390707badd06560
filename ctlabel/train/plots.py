"""ROC and precision-recall curves of the COVID head, and the lesion pair plot (paper Fig. 5)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ctlabel.train.metrics import auc, pr_curve, roc_curve


def plot_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]], out: Path) -> None:
    """roc.png and pr.png, one line per split."""
    for kind in ("roc", "pr"):
        fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=120)
        for name, (y, p) in curves.items():
            if len(y) == 0 or y.min() == y.max():  # no curve without both classes
                continue
            if kind == "roc":
                fpr, tpr = roc_curve(y, p)
                ax.plot(fpr, tpr, label=f"{name} (AUC {auc(y, p):.3f})")
            else:
                recall, precision = pr_curve(y, p)
                ax.plot(recall, precision, label=f"{name} ({int(y.sum())} COVID of {len(y)})")
        if kind == "roc":
            ax.plot([0, 1], [0, 1], ls=":", c="grey")
            ax.set(xlabel="false-positive rate", ylabel="true-positive rate", title="COVID-19 ROC")
        else:
            ax.set(xlabel="recall", ylabel="precision", title="COVID-19 precision-recall", ylim=(0, 1.02))
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="lower right" if kind == "roc" else "lower left", fontsize=8)
        fig.tight_layout()
        fig.savefig(out / f"{kind}.png")
        plt.close(fig)


def pair_plot(probs: np.ndarray, covid: np.ndarray, names: list[str], path: Path) -> None:
    """Scatter matrix of the lesion outputs, coloured by class (the paper's Figure 5)."""
    k = len(names)
    fig, axes = plt.subplots(k, k, figsize=(2.1 * k, 2.1 * k), dpi=110)
    colors = {1: "#e15759", 0: "#4e79a7"}
    for i in range(k):
        for j in range(k):
            ax = axes[i, j]
            for cls, label in ((0, "non-COVID"), (1, "COVID")):
                sel = covid == cls
                if i == j:
                    ax.hist(probs[sel, i], bins=20, range=(0, 1), alpha=0.6, color=colors[cls], label=label)
                else:
                    ax.scatter(probs[sel, j], probs[sel, i], s=5, alpha=0.6, color=colors[cls], label=label)
            ax.set_xlim(0, 1)
            if i != j:
                ax.set_ylim(0, 1)
            if i == k - 1:
                ax.set_xlabel(names[j])
            if j == 0:
                ax.set_ylabel(names[i])
            ax.tick_params(labelsize=6)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Lesion outputs by class (test set)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
