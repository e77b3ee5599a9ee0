r"""``einsum``, the general multilinear primitive, and the parsing of its subscripts.

The tangent is the sum over operands of the einsum with that operand's tangent. The
cotangent of operand :math:`k` is an einsum of the output cotangent with the other
operands, written to operand :math:`k`'s subscripts. Two details make that exact for any
subscripts:

* an index repeated within operand :math:`k` (a diagonal, as in ``'ii->i'``) is given a
  fresh name in the output and tied to the original by an identity matrix factor
  :math:`\delta_{ij}` -- the cotangent is embedded on the diagonal, zero elsewhere;
* an index that occurs only in operand :math:`k` (summed out there, as in ``'ij->i'``) is
  produced by a factor of ones: the cotangent is broadcast along it.

No conjugation for complex operands (see :mod:`.products` for the pairing).
"""

from __future__ import annotations

import string

from ..ad.sparsity import einsum_rule
from ..ad.taylor import RULES as _TAYLOR
from ..core.primitive import Primitive
from ._product_util import _as_array, _real_dtype, _xp_of
from ._util import OpError, shape

__all__ = ["einsum"]

_LETTERS = string.ascii_letters


def _join_spec(ins, out):
    return ",".join(ins) + "->" + out


def _split_spec(spec):
    lhs, out = spec.split("->")
    return lhs.split(","), out


def _fresh(used):
    for c in _LETTERS:
        if c not in used:
            used.add(c)
            return c
    raise OpError(
        "einsum: more than 52 distinct indices are needed (letters a-z, A-Z); split the "
        "contraction into steps"
    )


def _einsum_impl(xp, *ops, spec):
    # With three or more operands the pairwise order matters, and large operands gain from
    # the BLAS calls a contraction path makes; small ones do not repay the path search.
    big = len(ops) > 2 or sum(getattr(o, "size", 1) for o in ops) >= 4096
    return xp.einsum(spec, *ops, optimize="greedy" if big else False)


def _einsum_tangent_rule(k):
    def rule(t, ans, *args, spec):
        ops = list(args)
        ops[k] = t
        return einsum_p.bind(*ops, spec=spec)

    return rule


def _einsum_operand_ct(ct, args, k, ins, out):
    """Cotangent of operand ``k``: an einsum of ``ct`` with the other operands, with
    identity factors for indices repeated in operand ``k`` and ones for indices only it
    has."""
    sub = ins[k]
    xk = args[k]
    sk = shape(xk)
    used = set("".join(ins) + out)
    dt = _real_dtype(ct.dtype)
    xp = _xp_of(ct)
    ops = [ct] + [a for j, a in enumerate(args) if j != k]
    subs = [out] + [s for j, s in enumerate(ins) if j != k]
    target = []
    seen = set()
    for pos, c in enumerate(sub):
        if c in seen:  # repeated: the cotangent lives on the diagonal
            f = _fresh(used)
            ops.append(xp.eye(sk[pos], dtype=dt))
            subs.append(c + f)
            target.append(f)
        else:
            seen.add(c)
            target.append(c)
    present = set("".join(subs))
    for pos, c in enumerate(sub):
        if c not in present:  # summed out within operand k only: broadcast back
            ops.append(xp.ones(sk[pos], dtype=dt))
            subs.append(c)
            present.add(c)
    return einsum_p.bind(*ops, spec=_join_spec(subs, "".join(target)))


def _einsum_vjp(ct, ans, args, params, wanted):
    ins, out = _split_spec(params["spec"])
    return [_einsum_operand_ct(ct, args, k, ins, out) if w else None for k, w in enumerate(wanted)]


def _einsum_batch(vals, batched, size, *, spec):
    ins, out = _split_spec(spec)
    b = _fresh(set(spec))
    ins = [b + s if f else s for s, f in zip(ins, batched, strict=False)]
    return einsum_p.bind(*vals, spec=_join_spec(ins, b + out))


einsum_p = Primitive(
    "einsum",
    _einsum_impl,
    tangent=None,
    joint_vjp=_einsum_vjp,
    batch=_einsum_batch,
    sparsity=einsum_rule,
    doc=r"""Einstein summation with explicit subscripts (no ellipsis). Multilinear: the
    tangent is the sum over operands of the einsum with that operand's tangent; operand
    k's cotangent is the einsum of the output cotangent with the other operands, with
    identity factors for repeated indices and ones for indices only operand k has.""",
    taylor=_TAYLOR["einsum"],
)


def _einsum_tangent(ans, primals, tangents, params):
    out = None
    for k, t in enumerate(tangents):
        if t is None:
            continue
        c = _einsum_tangent_rule(k)(t, ans, *primals, **params)
        out = c if out is None else _add(out, c)
    return out


def _add(a, b):
    from .elementwise import add

    return add(a, b)


einsum_p.joint_tangent = _einsum_tangent


def _sublist_to_str(sub, op="einsum"):
    out = []
    for s in sub:
        if s is Ellipsis:
            out.append("...")
            continue
        try:
            i = int(s)
        except (TypeError, ValueError):
            raise OpError(f"{op}: subscript lists hold integers or Ellipsis, got {s!r}") from None
        if not 0 <= i < len(_LETTERS):
            raise OpError(f"{op}: subscript {i} is out of range 0..51")
        out.append(_LETTERS[i])
    return "".join(out)


def _parse_einsum(args):
    """(subscripts string, operands) from either calling convention."""
    if args and isinstance(args[0], str):
        return args[0], list(args[1:])
    # Interleaved: op0, sub0, op1, sub1, ..., [sub_out]
    args = list(args)
    ops, subs = [], []
    while len(args) >= 2:
        ops.append(args.pop(0))
        subs.append(_sublist_to_str(args.pop(0)))
    spec = ",".join(subs)
    if args:
        spec += "->" + _sublist_to_str(args.pop(0))
    return spec, ops


def _normalize_einsum(subscripts, shapes):
    """Explicit subscripts without ellipses for operands of ``shapes``."""
    s = subscripts.replace(" ", "")
    if s.count("->") > 1:
        raise OpError(f"einsum: subscripts {subscripts!r} contain '->' more than once")
    explicit = "->" in s
    lhs, out = s.split("->") if explicit else (s, None)
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise OpError(
            f"einsum: subscripts {subscripts!r} name {len(ins)} operands but "
            f"{len(shapes)} were given"
        )
    for part in ins + ([out] if explicit else []):
        rest = part.replace("...", "", 1)
        bad = [c for c in rest if c not in _LETTERS]
        if bad:
            raise OpError(
                f"einsum: invalid subscript character(s) {''.join(bad)!r} in {subscripts!r} "
                "(use letters, and at most one '...' per operand)"
            )
    used = set(c for c in s if c in _LETTERS)
    ell_ranks = []
    for part, sh in zip(ins, shapes, strict=False):
        n_letters = len(part.replace("...", ""))
        if "..." in part:
            e = len(sh) - n_letters
            if e < 0:
                raise OpError(
                    f"einsum: operand subscripts {part!r} name more axes than the operand of "
                    f"shape {sh} has"
                )
        else:
            e = 0
            if n_letters != len(sh):
                raise OpError(
                    f"einsum: operand subscripts {part!r} name {n_letters} axes but the "
                    f"operand has shape {sh}"
                )
        ell_ranks.append(e)
    n_ell = max(ell_ranks, default=0)
    ell = "".join(_fresh(used) for _ in range(n_ell))
    ins = [p.replace("...", ell[n_ell - e :]) for p, e in zip(ins, ell_ranks, strict=False)]
    if explicit:
        if "..." in out:
            out = out.replace("...", ell)
        elif n_ell:
            raise OpError(
                f"einsum: the operands have axes matched by '...' but the output "
                f"subscripts {out!r} have no '...' to put them in ({subscripts!r})"
            )
        for c in out:
            if out.count(c) > 1:
                raise OpError(f"einsum: output subscript {c!r} appears more than once")
            if not any(c in p for p in ins):
                raise OpError(f"einsum: output subscript {c!r} does not appear in any operand")
    else:
        counts = {}
        for p in ins:
            for c in p:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    # Every index must have one size (size-1 axes broadcast, as in NumPy).
    sizes = {}
    for k, (p, sh) in enumerate(zip(ins, shapes, strict=False)):
        for c, d in zip(p, sh, strict=False):
            prev = sizes.get(c)
            if prev is None or prev[0] == 1:
                sizes[c] = (d, k)
            elif d != 1 and d != prev[0]:
                raise OpError(
                    f"einsum: index {c!r} has size {prev[0]} in operand {prev[1]} (shape "
                    f"{shapes[prev[1]]}) but size {d} in operand {k} (shape {sh}); "
                    f"subscripts {subscripts!r}"
                )
    return ins, out


def einsum(*operands, out=None, dtype=None, order="K", casting="safe", optimize=False):
    r"""Einstein summation (NumPy's ``einsum``), for any subscripts: explicit (``'ij,jk->ik'``)
    or implicit (``'ij,jk'``) output, repeated indices (traces and diagonals, ``'ii'``,
    ``'ii->i'``), ellipses, any number of operands, or the interleaved form
    ``einsum(a, [0, 1], b, [1, 2], [0, 2])``.

    Multilinear: :math:`\dot y = \sum_k \operatorname{einsum}(x_1, \ldots, \dot x_k,
    \ldots)`; the cotangent of operand :math:`k` is the einsum of :math:`\bar y` with the
    other operands, written to operand :math:`k`'s subscripts -- embedded on the diagonal
    for a repeated index (:math:`\bar x_{ij} = \delta_{ij}\bar y_i` for ``'ii->i'``) and
    broadcast along an index only operand :math:`k` has (:math:`\bar x_{ij} = \bar y` for
    ``'ij->'``). No conjugation for complex operands. ``optimize`` is accepted for
    compatibility; three or more operands are always contracted pairwise in a greedy
    order.
    """
    if out is not None:
        raise OpError("einsum: out= is not supported (adgraph arrays are immutable)")
    subscripts, ops = _parse_einsum(operands)
    if not ops:
        raise OpError("einsum: no operands given")
    ops = [_as_array(o) for o in ops]
    if dtype is not None:
        from .misc import astype

        ops = [astype(o, dtype) for o in ops]
    ins, outs = _normalize_einsum(subscripts, [shape(o) for o in ops])
    if len(ops) == 1 and ins[0] == outs:
        return ops[0]
    return einsum_p.bind(*ops, spec=_join_spec(ins, outs))
