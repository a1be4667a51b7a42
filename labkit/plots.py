"""Figures every lab draws the same way. Each function returns a matplotlib Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator


def use_course_style() -> None:
    """One look for all labs: change it here to change every figure."""
    plt.rcParams.update({
        "figure.dpi": 90,
        "savefig.dpi": 110,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "font.size": 10,
    })


def _show_image(ax, image):
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 1:  # a flattened square image
        side = int(round(np.sqrt(image.size)))
        image = image.reshape(side, side)
    ax.imshow(np.clip(image, 0, 1), cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)


def image_rows(rows: dict, n: int = 10, title: str = ""):
    """A grid with one named row per entry, e.g. {"original": x, "CNN": a, "LSTM": b}."""
    if not rows:
        raise ValueError("image_rows needs at least one row of images.")
    n = min(n, *(len(images) for images in rows.values()))
    fig, axes = plt.subplots(len(rows), n, figsize=(1.1 * n, 1.2 * len(rows) + 0.3), squeeze=False)
    for r, (label, images) in enumerate(rows.items()):
        for c in range(n):
            _show_image(axes[r, c], images[c])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def reconstruction_grid(originals, reconstructions, noisy=None, n: int = 10, title: str = ""):
    """Rows of original / (noisy) / reconstruction for the first ``n`` images."""
    rows = {"original": originals}
    if noisy is not None:
        rows["noisy"] = noisy
    rows["reconstruction"] = reconstructions
    return image_rows(rows, n=n, title=title)


def learning_curves(histories, metric: str = "loss", title: str = "", logy: bool = False):
    """Training (solid) and validation (dashed) curves; ``histories`` is a History or {name: History}."""
    if not isinstance(histories, dict):
        histories = {"": histories}
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for k, (name, hist) in enumerate(histories.items()):
        logs = getattr(hist, "history", hist)
        if metric not in logs:
            raise KeyError(f"No {metric!r} in the history of {name or 'the model'}; it has {sorted(logs)}.")
        color = f"C{k}"
        epochs = np.arange(1, len(logs[metric]) + 1)
        prefix = f"{name} " if name else ""
        ax.plot(epochs, logs[metric], color=color, marker="o", ms=3, label=f"{prefix}train")
        if f"val_{metric}" in logs:
            ax.plot(epochs, logs[f"val_{metric}"], color=color, ls="--", marker="o", ms=3,
                    label=f"{prefix}validation")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(metric)
    if logy:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.set_title(title or f"{metric} per epoch")
    fig.tight_layout()
    return fig


def latent_scatter(points, labels, class_names=None, title: str = "", ax=None):
    """2-D points coloured by label, with a legend of class names."""
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"latent_scatter needs points of shape (N, 2), got {points.shape}; "
                         f"reduce them first (PCA or t-SNE).")
    labels = np.ravel(labels)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 4.4))
    else:
        fig = ax.figure
    for cls in np.unique(labels):
        sel = labels == cls
        name = class_names[cls] if class_names is not None else str(cls)
        ax.scatter(points[sel, 0], points[sel, 1], s=5, alpha=0.7, color=plt.cm.tab10(int(cls) % 10),
                   label=name)
    ax.legend(markerscale=3, fontsize=7, loc="best", ncol=2)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, class_names, title: str = "", normalize: bool = True):
    """Confusion matrix (rows: true class), normalised per row by default."""
    y_true, y_pred = np.ravel(y_true), np.ravel(y_pred)
    k = len(class_names)
    cm = np.zeros((k, k), float)
    np.add.at(cm, (y_true, y_pred), 1)
    if normalize:
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6, 5.2))
    im = ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(k), class_names, rotation=45, ha="right")
    ax.set_yticks(range(k), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.grid(False)
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{cm[i, j]:.2f}" if normalize else int(cm[i, j]), ha="center", va="center",
                    fontsize=7, color="white" if cm[i, j] > cm.max() / 2 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title)
    fig.tight_layout()
    return fig
