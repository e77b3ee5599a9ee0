r"""What :func:`~adgraph.compare.compare` found, as data and as a report: text, Markdown
tables, or a JSON-ready dict."""

from __future__ import annotations

import math

import numpy as np


# ---------------------------------------------------------------------- the report
def _fmt(x, digits=6):
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        return f"{float(a):.{digits}g}"
    return "[" + ", ".join(f"{float(v):.{digits}g}" for v in a.ravel()) + "]"


def _err(x):
    if x is None or not np.isfinite(x):
        return "nan" if x is not None else "-"
    return f"{x:.1e}"


def _dur(s):
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


class Comparison:
    """What :func:`compare` found; ``str()`` gives a readable report, ``to_dict()`` the data
    (JSON-ready), ``to_markdown()`` Markdown tables."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def to_dict(self) -> dict:
        def conv(v):
            if isinstance(v, dict):
                return {k: conv(u) for k, u in v.items()}
            if isinstance(v, (list, tuple)):
                return [conv(u) for u in v]
            if isinstance(v, np.ndarray):
                return conv(v.tolist())
            if isinstance(v, (np.floating, float)):
                f = float(v)
                return f if math.isfinite(f) else str(f)
            if isinstance(v, np.integer):
                return int(v)
            return v

        return conv({k: v for k, v in self.__dict__.items() if not k.startswith("_")})

    @property
    def best_central(self):
        return min(self.fd, key=lambda r: _key(r["central_error"]))

    @property
    def best_forward(self):
        return min(self.fd, key=lambda r: _key(r["forward_error"]))

    def __str__(self) -> str:
        at = ", ".join(f"{k} = {_fmt(v)}" for k, v in self.point.items())
        ad = self.ad
        out = [
            f"Three ways to differentiate {self.function} at {at}",
            f"value f = {_fmt(self.value, 12)}",
            "",
            "Automatic differentiation (reverse mode, exact up to rounding)",
            f"  gradient  {_fmt(ad['gradient'], 12)}",
            f"  time      {_dur(ad['time_s'])}",
            f"  graph     {ad['graph_operations']} operations in f, "
            f"{ad['grad_graph_operations']} in the gradient computation",
            "",
            "Finite differences (error: largest absolute difference from AD)",
            f"  {'step h':>8}  {'central':>24}  {'error':>8}  {'forward':>24}  {'error':>8}",
        ]
        for r in self.fd:
            out.append(
                f"  {r['step']:>8.0e}  {_fmt(r['central'], 10):>24}  {_err(r['central_error']):>8}"
                f"  {_fmt(r['forward'], 10):>24}  {_err(r['forward_error']):>8}"
            )
        bc, bf = self.best_central, self.best_forward
        out.append(
            f"  best: central at h = {bc['step']:.0e} (error {_err(bc['central_error'])}), "
            f"forward at h = {bf['step']:.0e} (error {_err(bf['forward_error'])}); larger "
            "steps suffer truncation, smaller ones round-off"
        )
        out += ["", "Symbolic differentiation (SymPy)"]
        s = self.sympy
        if s["status"] == "ok":
            out += [
                f"  derivative  {s['derivative_text']}",
                f"  gradient    {_fmt(s['gradient'], 12)}   error {_err(s['error'])}",
                f"  time        {_dur(s['diff_time_s'])} to differentiate, "
                f"{_dur(s['eval_time_s'])} to evaluate",
                f"  size        {s['derivative_ops']} operations in the derivative expression "
                f"({s['function_ops']} in f's expression) against "
                f"{ad['grad_graph_operations']} in AD's gradient graph",
            ]
        elif s["status"] == "unavailable":
            out.append(f"  not run: {s['reason']}")
        elif s["status"] == "skipped":
            out.append("  not run (symbolic=False)")
        elif s["status"] == "timeout":
            out.append(f"  not finished: {s['reason']}")
            out.append(f"  {s['explanation']}")
        else:
            out.append(f"  FAILED: {s['reason']}")
            out.append(f"  {s['explanation']}")
        return "\n".join(out)

    def __repr__(self) -> str:
        return str(self)

    def to_markdown(self) -> str:
        at = ", ".join(f"{k} = {_fmt(v)}" for k, v in self.point.items())
        ad, s = self.ad, self.sympy
        out = [
            f"**{self.function}** at {at}: value {_fmt(self.value, 12)}",
            "",
            "| method | gradient | error | time | size |",
            "|---|---|---|---|---|",
            f"| AD (reverse) | {_fmt(ad['gradient'], 12)} | - | {_dur(ad['time_s'])} | "
            f"{ad['grad_graph_operations']} graph operations |",
        ]
        bc, bf = self.best_central, self.best_forward
        out.append(
            f"| central FD, h = {bc['step']:.0e} | {_fmt(bc['central'], 10)} | "
            f"{_err(bc['central_error'])} | - | - |"
        )
        out.append(
            f"| forward FD, h = {bf['step']:.0e} | {_fmt(bf['forward'], 10)} | "
            f"{_err(bf['forward_error'])} | - | - |"
        )
        if s["status"] == "ok":
            out.append(
                f"| SymPy | {_fmt(s['gradient'], 12)} | {_err(s['error'])} | "
                f"{_dur(s['diff_time_s'])} | {s['derivative_ops']} expression "
                "operations |"
            )
        else:
            out.append(f"| SymPy | {s['status']}: {s['reason']} | - | - | - |")
        out += ["", "| step h | central | error | forward | error |", "|---|---|---|---|---|"]
        for r in self.fd:
            out.append(
                f"| {r['step']:.0e} | {_fmt(r['central'], 10)} | "
                f"{_err(r['central_error'])} | {_fmt(r['forward'], 10)} | "
                f"{_err(r['forward_error'])} |"
            )
        return "\n".join(out)


def _max_error(a, b) -> float:
    """Largest absolute difference; equal values (the same infinity too) differ by 0, and
    a nan on either side makes the error nan."""
    if a.size == 0:
        return 0.0
    with np.errstate(invalid="ignore"):
        return float(np.max(np.where(a == b, 0.0, np.abs(a - b))))


def _key(e):
    return math.inf if e is None or not np.isfinite(e) else e
