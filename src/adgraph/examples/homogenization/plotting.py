"""Figures of homogenisation results: stress-field slices and convergence histories.

Every function takes matplotlib's ``Figure`` class (as returned by
``adgraph.examples._common.figure_or_none``, so nothing touches pyplot's global state) and
returns the drawn figure; saving is left to the caller.
"""

from __future__ import annotations

import numpy as np

from .solvers import _plain

__all__ = ["slice_of", "plot_stress_slices", "plot_convergence", "plot_stress_strain"]


def slice_of(field, axis: int = -1, index=None):
    """A 2-D slice of a scalar field: the field itself in 2-D, the middle plane normal to
    ``axis`` in 3-D."""
    a = np.asarray(_plain(field))
    if a.ndim == 2:
        return a
    axis = axis % a.ndim
    index = a.shape[axis] // 2 if index is None else index
    return np.take(a, index, axis=axis)


def _image(fig, ax, data, title, cmap="viridis"):
    im = ax.imshow(data.T, origin="lower", cmap=cmap, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(im, ax=ax, shrink=0.8)


#: The phase map's two colours and their names: a binary image gets a two-entry legend,
#: not a colour bar running through values that no voxel has.
PHASE_COLOURS = (("matrix", "#e5e7eb"), ("inclusion", "#1f2937"))


def _phase_map(fig, ax, data, title):
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    cmap = ListedColormap([c for _, c in PHASE_COLOURS])
    ax.imshow(data.T, origin="lower", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(
        handles=[Patch(facecolor=c, edgecolor="0.3", label=n) for n, c in PHASE_COLOURS],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.02),
        ncol=2,
        fontsize=8,
        frameon=False,
    )


def plot_stress_slices(Figure, result, phases=None, title=""):
    """Phase map (if given), :math:`\\sigma_{11}` and the von Mises stress on the mid-plane."""
    panels = [] if phases is None else [("phases", slice_of(phases.astype(float)), None)]
    s = np.asarray(_plain(result.stress))
    name = "P" if result.finite_strain else "\\sigma"
    panels.append((f"${name}_{{11}}$", slice_of(s[0, 0]), "coolwarm"))
    if s.shape[0] > 1:
        panels.append((f"${name}_{{12}}$", slice_of(s[0, 1]), "coolwarm"))
    panels.append(("von Mises", slice_of(result.von_mises()), "magma"))
    fig = Figure(figsize=(3.3 * len(panels), 3.2))
    axes = fig.subplots(1, len(panels))
    for ax, (t, data, cmap) in zip(np.atleast_1d(axes), panels):
        if cmap is None:
            _phase_map(fig, ax, data, t)
        else:
            _image(fig, ax, data, t, cmap)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_convergence(Figure, newton, fixed_point=None):
    """Residual histories: the Newton residual per iteration of each increment of ``newton``
    (quadratic convergence shows as ever steeper lines), the CG residuals inside its Newton
    iterations, and -- if given -- the Moulinec-Suquet iterations of ``fixed_point``; one
    colour per load increment."""
    panels = 3 if fixed_point is not None else 2
    fig = Figure(figsize=(3.9 * panels, 3.5))
    axes = fig.subplots(1, panels)
    ax1, ax2 = axes[0], axes[1]
    for k, r in enumerate(newton.step_residuals):
        r = np.maximum(np.asarray(r), 1e-17)
        ax1.semilogy(range(len(r)), r, "o-", ms=3, color=f"C{k % 10}", label=f"increment {k + 1}")
    ax1.set_xlabel("Newton iteration")
    ax1.set_ylabel(r"$\|\mathbb{G}\sigma\| / \|\sigma\|$")
    ax1.set_title("Newton-CG, consistent tangent", fontsize=9)
    for k, step in enumerate(newton.step_cg_residuals):
        for j, h in enumerate(step):
            ax2.semilogy(
                np.maximum(h, 1e-17),
                lw=0.8,
                color=f"C{k % 10}",
                label=f"increment {k + 1}" if j == 0 else None,
            )
    ax2.set_xlabel("CG iteration")
    ax2.set_ylabel(r"$\|r_k\| / \|b\|$")
    ax2.set_title("CG inside each Newton iteration", fontsize=9)
    if fixed_point is not None:
        ax3 = axes[2]
        for k, r in enumerate(fixed_point.step_residuals):
            ax3.semilogy(
                np.maximum(np.asarray(r), 1e-17),
                lw=1.0,
                color=f"C{k % 10}",
                label=f"increment {k + 1}",
            )
        ax3.set_xlabel("iteration")
        ax3.set_ylabel(r"$\|\mathbb{G}\sigma\| / \|\sigma\|$")
        ax3.set_title("Moulinec-Suquet fixed point", fontsize=9)
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_stress_strain(Figure, curves: dict, component=(0, 0)):
    """Macroscopic stress against macroscopic strain along the load path, one curve per
    result: ``curves = {label: result}``."""
    fig = Figure(figsize=(4.6, 3.6))
    ax = fig.subplots()
    i, j = component
    for k, (label, res) in enumerate(curves.items()):
        e = np.concatenate([[0.0], res.mean_strain_path[:, i, j]])
        s = np.concatenate([[0.0], res.mean_stress_path[:, i, j]])
        ax.plot(
            e,
            s,
            ("o-", "s--", "^:")[k % 3],
            ms=4 + 2 * (k == 0),
            mfc="none" if k else None,
            label=label,
        )
    ax.set_xlabel(f"$E_{{{i + 1}{j + 1}}}$")
    ax.set_ylabel(rf"$\langle\sigma_{{{i + 1}{j + 1}}}\rangle$")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
