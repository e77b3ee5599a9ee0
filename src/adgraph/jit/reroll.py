"""Re-rolling: the bodies of an unrolled Python loop become one ``scan`` node again.

A Python ``for`` loop is unrolled while tracing: 2,000 steps of ``x = sin(x) * x + 0.5``
are 8,000 nodes, and their derivative's reverse sweep as many again. The code generators
would emit one statement per node, so the compile time grows with the trip count.
:func:`reroll` finds runs of repeated structure in the simplified graph -- the same
:func:`adgraph.graph.layout.find_repeats` that folds them in pictures -- and replaces a run
of ``K`` identical step bodies by one ``scan`` node whose step is one body:

* a value of a step read by the next step is a **carry** (its initial value is what the
  first step reads from before the run);
* a value from outside the run that every step reads is a **closed-over constant**; one
  that differs from step to step is a slice of stacked **xs** -- a stacked constant, or
  the stacked values of an earlier re-rolled run read in order or in reverse (a reverse
  sweep reads its forward sweep's values last first: that run becomes a reverse scan);
* a value of a step read after the run is the final carry, or a stacked output ``ys``;
* a position whose steps differ in their parameters (``x[k]`` at step ``k``;
  ``find_repeats`` compares parameter names only, this module their values) and that
  reads nothing of the run is computed before the loop, and read as xs.

It runs on the traced graph, before simplification (the loop's step is simplified once,
not once per step), in the recording order of the nodes. Each step evaluates the same
primitives in the same order on the same values as the unrolled program, so the results
are bit-identical (the tests compare them bit for bit). A run is left as it is where one
of these rules does not hold: a step reading a value of a step two or more before it, a
differing parameter on a position that reads the run, a multiple-result operation in the
body, a carry whose initial value has another shape or dtype, Python numbers that differ
from step to step where the operation would not convert them to float64 anyway, or
stacked outputs holding more than :data:`MAX_WASTE` elements that nothing reads. A graph
with effects is not re-rolled; ``jit`` does not re-roll programs with guards.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.pytree import tree_flatten
from ..graph.ir import Const, Graph, Node
from ..graph.layout import find_repeats
from .loops import GraphBody
from .simplify import simplify
from .tracing import trace_for_jit

__all__ = ["reroll", "MIN_NODES", "MIN_HIDDEN"]

#: Graphs smaller than this are left as they are (nothing worth a loop).
MIN_NODES = 256
#: The fewest nodes a run must hide to become a loop.
MIN_HIDDEN = 64


def _same_param(a, b) -> bool:
    if a is b:
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        )
    try:
        eq = a == b
    except Exception:  # noqa: BLE001 - values that cannot be compared are different
        return False
    return eq is True or (isinstance(eq, (bool, np.bool_)) and bool(eq) and type(a) is type(b))


def _same_params(p, q) -> bool:
    return p.keys() == q.keys() and all(_same_param(p[k], q[k]) for k in p)


def _same_const(a: Const, b: Const) -> bool:
    if a is b or a.value is b.value:
        return True
    va, vb = np.asarray(a.value), np.asarray(b.value)
    return (
        type(a.value) is type(b.value)
        and va.dtype == vb.dtype
        and va.shape == vb.shape
        and bool(np.array_equal(va, vb))
        and (va.dtype.kind not in "fc" or bool(np.array_equal(np.signbit(va), np.signbit(vb))))
    )


class _Run:
    """One run ``(start, period, count)`` of the node order, planned as a scan."""

    def __init__(self, start: int, period: int, count: int) -> None:
        self.start, self.p, self.K = start, period, count
        self.carry: dict[int, Node | Const] = {}  # carried position -> initial value
        self.internal: dict[tuple[int, int], int] = {}  # (pos, arg) -> pos, same step
        self.carried: dict[tuple[int, int], int] = {}  # (pos, arg) -> pos, step before
        # (pos, arg) -> ("const", value) | ("cxs", [Const...]) | ("store", run, kind, pos,
        # [index per step]) | ("stack", [refs per step])
        self.slots: dict[tuple[int, int], tuple] = {}
        self.ys: set[int] = set()  # positions stacked as outputs
        self.cin: set[int] = set()  # carried positions whose incoming values are stacked
        self.reverse = False
        self.read: dict = {}  # stacked position -> steps read one by one, or "all"
        self.first_nodes: list = []
        self.hoist: set[int] = set()  # positions computed before the loop

    def member(self, i: int) -> tuple[int, int]:
        return divmod(i - self.start, self.p)

    def index(self, t: int) -> int:
        """Where step ``t``'s values lie in the stacked outputs."""
        return self.K - 1 - t if self.reverse else t


def _plan(nodes, pos, start, p, K, owner, runs) -> _Run | None:
    """The run as a scan, or None where one of the module's conditions fails."""
    r = _Run(start, p, K)
    end = start + p * K
    first = nodes[start : start + p]
    r.first_nodes = first
    for t in range(1, K):
        for j in range(p):
            a, b = first[j], nodes[start + t * p + j]
            if a.op != b.op or a.shape != b.shape or a.dtype != b.dtype:
                return None
            if len(a.inputs) != len(b.inputs) or not _same_params(a.params, b.params):
                r.hoist.add(j)
    if any(n.multiple_results or n.op == "item" or n.shape is None for n in first):
        return None
    # A position whose steps differ in their parameters (x[k] at step k) is computed
    # before the loop when it reads nothing of the run: the loop reads it as xs.
    for j in r.hoist:
        for t in range(K):
            for i in nodes[start + t * p + j].inputs:
                if isinstance(i, Node) and start <= pos[i] < end:
                    return None
    if len(r.hoist) == p:
        return None
    for j, n in enumerate(first):
        if j in r.hoist:
            continue
        for a in range(len(n.inputs)):
            refs = [nodes[start + t * p + j].inputs[a] for t in range(K)]
            kinds: list[tuple[int, int] | None] = []
            for t, ref in enumerate(refs):
                q = pos.get(ref) if isinstance(ref, Node) else None
                if q is not None and start <= q < end:
                    tq, jq = divmod(q - start, p)
                    kinds.append((t - tq, jq))
                else:
                    kinds.append(None)
            inside = [k for k in kinds if k is not None]
            if inside and all(k is None or k[1] in r.hoist for k in kinds):
                r.slots[(j, a)] = ("stack", refs)  # values computed before the loop
                continue
            if inside:
                k0 = inside[0]
                if k0 == (0, k0[1]) and all(k == k0 for k in kinds):
                    r.internal[(j, a)] = k0[1]
                    continue
                if k0[0] == 1 and kinds[0] is None and all(k == k0 for k in kinds[1:]):
                    init = refs[0]
                    jq = k0[1]
                    if jq in r.carry and r.carry[jq] is not init:
                        return None
                    body = first[jq]
                    if tuple(init.shape or ()) != tuple(body.shape or ()) or np.dtype(
                        init.dtype
                    ) != np.dtype(body.dtype):
                        return None
                    r.carry[jq] = init
                    r.carried[(j, a)] = jq
                    continue
                return None  # reads a step two or more before, or mixes
            r.slots[(j, a)] = _slot(refs, owner, runs, n)
            if r.slots[(j, a)] is None:
                return None
    return r


def _weak_ok(node) -> bool:
    """Whether Python numbers read by ``node`` may be read as float64 values instead: the
    operation is float64 arithmetic, which converts them to float64 anyway."""
    return (
        node.op in _ARITHMETIC
        and np.dtype(node.dtype) == np.float64
        and all(np.dtype(i.dtype) == np.float64 for i in node.inputs if isinstance(i, Node))
    )


_ARITHMETIC = frozenset({"add", "subtract", "multiply", "divide", "true_divide"})


def _exact_float(v) -> bool:
    # a Python number that float64 holds exactly
    if isinstance(v, bool):
        return False
    if isinstance(v, float):
        return True
    return isinstance(v, int) and abs(v) <= 2**53


def _slot(refs, owner, runs, node):
    """How a scan reads the values ``refs`` (one per step) from outside its run, as the
    argument of ``node`` (of the first step)."""
    r0 = refs[0]
    if isinstance(r0, Const):
        if all(isinstance(x, Const) and _same_const(x, r0) for x in refs):
            return ("const", r0)
        if all(isinstance(x, Const) for x in refs):
            if any(not hasattr(x.value, "dtype") for x in refs):
                # Python numbers are weakly typed, a stacked array is not: only where
                # the operation converts them to float64 anyway
                if not (_weak_ok(node) and all(_exact_float(x.value) for x in refs)):
                    return None
                return ("cxs", [Const(np.float64(x.value)) for x in refs])
            vals = [np.asarray(x.value) for x in refs]
            if all(v.shape == vals[0].shape and v.dtype == vals[0].dtype for v in vals):
                return ("cxs", refs)
            return None
        if any(not hasattr(x.value, "dtype") for x in refs if isinstance(x, Const)):
            return None
        return ("stack", refs)
    if all(x is r0 for x in refs):
        return ("const", r0)
    if any(isinstance(x, Const) for x in refs):
        if any(isinstance(x, Const) and not hasattr(x.value, "dtype") for x in refs):
            return None
        return ("stack", refs)
    # the values of one earlier run, at one position, in order or in reverse
    got = [owner.get(x) for x in refs]
    if all(g is not None for g in got) and len({id(g[0]) for g in got}) == 1:
        R = got[0][0]
        ts, js = [g[1] for g in got], {g[2] for g in got}
        if len(js) == 1:
            (j,) = js
            return ("store", R, "ys", j, ts)
    # the incoming values of a carried position of an earlier run (its initial value,
    # then the values of its steps but the last)
    for R in runs:
        for jq, init in R.carry.items():
            idx = []
            for x in refs:
                if x is init:
                    idx.append(0)
                    continue
                g = owner.get(x)
                if g is None or g[0] is not R or g[2] != jq or g[1] >= R.K - 1:
                    break
                idx.append(g[1] + 1)
            else:
                return ("store", R, "cin", jq, idx)
    return ("stack", refs)


def _strided(idx) -> int | None:
    """The stride (+1 or -1) of the indices ``idx``, or None."""
    if len(idx) < 2:
        return 1
    s = idx[1] - idx[0]
    if s not in (1, -1):
        return None
    return s if all(b - a == s for a, b in zip(idx, idx[1:])) else None


def reroll(graph: Graph) -> Graph:
    """``graph`` with each long run of repeated step bodies replaced by one ``scan`` node
    (see the module documentation); ``graph`` itself where there is none, or where the
    replay fails. The graph's inputs should carry their traced values (it is traced again,
    on them; zeros of their shapes stand in for missing ones)."""
    if getattr(graph, "effects", None):
        return graph
    nodes = list(graph.nodes)  # by recording order (cheaper than levels: no sort)
    if len(nodes) < MIN_NODES:
        return graph
    pos = {n: k for k, n in enumerate(nodes)}
    if any(pos.get(i, -1) >= k for k, n in enumerate(nodes) for i in n.inputs):
        nodes = graph.toposort()  # (a graph built by hand, out of order)
        pos = {n: k for k, n in enumerate(nodes)}
    found = find_repeats(nodes, min_hidden=MIN_HIDDEN)
    if not found:
        return graph
    skip: set[int] = set()
    while True:
        owner: dict[Node, tuple[_Run, int, int]] = {}
        runs: list[_Run] = []
        for start, p, K in found:
            r = None if start in skip else _plan(nodes, pos, start, p, K, owner, runs)
            if r is None:
                continue
            runs.append(r)
            for i in range(start, start + p * K):
                t, j = r.member(i)
                if j not in r.hoist:
                    owner[nodes[i]] = (r, t, j)
        if not runs:
            return graph
        _choose_storage(runs, nodes, owner, graph)
        # A run whose stacked outputs would mostly hold values nobody reads (a
        # checkpointed loop reads a few of its steps' values) stays unrolled: the
        # unrolled program keeps only those alive.
        wasteful = {r.start for r in runs if _waste(r) > MAX_WASTE}
        if not wasteful:
            break
        skip |= wasteful
    leaves = []
    for n in graph.inputs:
        v = n.value
        if v is None:
            v = np.zeros(tuple(n.shape or ()), dtype=n.dtype)[()]
        leaves.append(v)
    replay = _Replay(graph, nodes, owner, runs)
    in_tree = tree_flatten(tuple(range(len(leaves))))[1]
    try:
        with np.errstate(all="ignore"):
            new, guards, closures = trace_for_jit(replay, leaves, in_tree)
    except Exception:  # noqa: BLE001 - re-rolling is an optimization: the program as traced
        # (a replay on example values that an implementation refuses, a closed-over
        # value known only by shape, a primitive that cannot be bound again...)
        return graph
    if guards or closures:  # (a replay binds primitives on its inputs alone: none expected)
        return graph
    new.in_tree, new.out_tree, new.name = graph.in_tree, graph.out_tree, graph.name
    new, _ = simplify(new)
    return new


def _mark(owner, x) -> None:
    """The value ``x`` (a member of a run) is read outside its run: keep it."""
    g = owner.get(x)
    if g is None:
        return
    R, t, j = g
    if not (j in R.carry and t == R.K - 1):
        R.ys.add(j)
        if R.read.get(j) != "all":
            R.read.setdefault(j, set()).add(t)


#: The most elements a run may stack that nobody reads (see :func:`_waste`).
MAX_WASTE = 1 << 16


def _waste(r) -> int:
    """The elements of ``r``'s stacked outputs that are never read."""
    total = 0
    for j in r.ys | r.cin:
        read = r.read.get(j)
        if read is None or read == "all":
            continue
        node = r.first_nodes[j]
        size = int(np.prod(node.shape, dtype=np.int64)) if node.shape else 1
        total += (r.K - len(read)) * size
    return total


def _choose_storage(runs, nodes, owner, graph) -> None:
    """Which positions each run stacks, and each run's direction (a run reading its xs
    mostly last first runs in reverse, so that its reads are contiguous slices)."""
    for r in runs:
        for key, s in r.slots.items():
            if s[0] == "store":
                _, R, kind, j, idx = s
                if _strided(idx) is None:
                    r.slots[key] = ("stack", [_ref(R, kind, j, t, nodes) for t in idx])
                    s = r.slots[key]
                else:
                    (R.ys if kind == "ys" else R.cin).add(j)
                    if kind == "ys":
                        R.read[j] = "all"  # (read whole by a later loop)
            if s[0] == "stack":
                for x in s[1]:
                    _mark(owner, x)
            elif s[0] == "const":
                _mark(owner, s[1])
        for init in r.carry.values():
            _mark(owner, init)
    for n in nodes:
        if n in owner:
            continue
        for i in n.inputs:
            _mark(owner, i)
    for o in graph.outputs:
        _mark(owner, o)
    # directions, in order: a run's reads depend on the directions of earlier runs
    for r in runs:
        vote = 0
        for s in r.slots.values():
            if s[0] == "store":
                _, R, kind, j, idx = s
                st = [R.index(t) for t in idx] if kind == "ys" else _cin_index(R, idx)
                vote += _strided(st) or 0
        r.reverse = vote < 0


def _cin_index(R, idx):
    # incoming value of step u is stored at R.index(u)
    return [R.index(u) for u in idx]


def _ref(R, kind, j, t, nodes):
    if kind == "ys":
        return nodes[R.start + t * R.p + j]
    if t == 0:
        return R.carry[j]
    return nodes[R.start + (t - 1) * R.p + j]


class _Replay:
    """The graph evaluated by binding its primitives, each planned run as one scan."""

    def __init__(self, graph, nodes, owner, runs):
        self.graph, self.nodes, self.owner, self.runs = graph, nodes, owner, runs
        self.__name__ = getattr(graph, "name", None) or "rerolled"

    def __call__(self, *leaves):
        from ..lax.loops import scan_p

        env: dict[Any, Any] = dict(zip(self.graph.inputs, leaves))
        self.out: dict[int, dict] = {}
        starts = {r.start: r for r in self.runs}
        owner = self.owner
        i, n_all = 0, len(self.nodes)
        while i < n_all:
            r = starts.get(i)
            if r is not None:
                for t in range(r.K):
                    for j in sorted(r.hoist):
                        self._bind(self.nodes[r.start + t * r.p + j], env)
                self._run(r, env, scan_p)
                i += r.p * r.K
                continue
            node = self.nodes[i]
            i += 1
            if node.is_input or node in owner:
                continue
            self._bind(node, env)
        return tuple(self.get(o, env) for o in self.graph.outputs)

    def _bind(self, node, env):
        vals = [self.get(x, env) for x in node.inputs]
        if node.op == "item":
            env[node] = vals[0][node.params["index"]]
        else:
            env[node] = node.prim.bind(*vals, **node.params)

    def get(self, x, env):
        if isinstance(x, Const):
            return x.value
        got = env.get(x)
        if got is not None or x in env:
            return got
        R, t, j = self.owner[x]
        o = self.out[id(R)]
        if j in R.carry and t == R.K - 1:
            v = o["carry"][j]
        elif j in R.ys:
            v = o["ys"][j][R.index(t)]
        else:  # (planning stacks every position read from outside)
            v = o["cin"][j][R.index(t + 1)]
        env[x] = v
        return v

    def _store(self, R, kind, j):
        return self.out[id(R)]["ys" if kind == "ys" else "cin"][j]

    def _run(self, r, env, scan_p):
        import adgraph.numpy as anp

        first = self.nodes[r.start : r.start + r.p]
        carry_pos = sorted(r.carry)
        c_in = [Node("input", (), shape=first[j].shape, dtype=first[j].dtype) for j in carry_pos]
        xs_keys = [k for k, s in r.slots.items() if s[0] != "const"]
        # (a constant stays in the step's code: a Python number stays weakly typed)
        k_keys = [k for k, s in r.slots.items() if s[0] == "const" and not isinstance(s[1], Const)]
        ref0 = {
            k: s[1][0] if s[0] == "cxs" else first[k[0]].inputs[k[1]] for k, s in r.slots.items()
        }
        x_in = [Node("input", (), shape=ref0[k].shape, dtype=ref0[k].dtype) for k in xs_keys]
        k_in = [Node("input", (), shape=ref0[k].shape, dtype=ref0[k].dtype) for k in k_keys]
        slot_in = dict(zip(xs_keys, x_in)) | dict(zip(k_keys, k_in))
        cin_of = dict(zip(carry_pos, c_in))
        copies: dict[int, Node] = {}
        for j, n in enumerate(first):
            if j in r.hoist:
                continue
            ins = []
            for a, x in enumerate(n.inputs):
                if (j, a) in r.internal:
                    ins.append(copies[r.internal[(j, a)]])
                elif (j, a) in r.carried:
                    ins.append(cin_of[r.carried[(j, a)]])
                elif (j, a) in slot_in:
                    ins.append(slot_in[(j, a)])
                else:
                    ins.append(x)  # a constant
            copies[j] = Node(
                n.op, ins, n.params, prim=n.prim, shape=n.shape, dtype=n.dtype, name=n.name
            )
        ys_pos, cin_pos = sorted(r.ys), sorted(r.cin)
        outs = [copies[j] for j in carry_pos] + [copies[j] for j in ys_pos]
        outs += [cin_of[j] for j in cin_pos]
        body = Graph(c_in + x_in + k_in, outs, name=f"{self.__name__}_step")
        body, _ = simplify(body)
        # arguments
        init = [self.get(r.carry[j], env) for j in carry_pos]
        xs = []
        for k in xs_keys:
            s = r.slots[k]
            if s[0] == "cxs":
                vals = [np.asarray(c.value) for c in s[1]]
                xs.append(np.stack(vals[::-1] if r.reverse else vals))
            elif s[0] == "stack":
                vals = [self.get(x, env) for x in s[1]]
                xs.append(anp.stack(vals[::-1] if r.reverse else vals))
            else:
                _, R, kind, j, idx = s
                st = [R.index(u) for u in idx]
                if r.reverse:
                    st = st[::-1]
                arr = self._store(R, kind, j)
                lo, step = st[0], _strided(st)
                if step == 1:
                    if not (lo == 0 and len(st) == R.K):
                        arr = arr[lo : lo + len(st)]
                else:
                    stop = lo - len(st)
                    arr = arr[lo : (stop if stop >= 0 else None) : -1]
                xs.append(arr)
        consts = [self.get(r.slots[k][1], env) for k in k_keys]
        params = {
            "nc": len(carry_pos),
            "nx": len(xs_keys),
            "length": r.K,
            "reverse": r.reverse,
            "checkpoints": None,
        }
        res = scan_p.bind(*init, *xs, *consts, body=GraphBody(body), **params)
        nc, ny = len(carry_pos), len(ys_pos)
        self.out[id(r)] = {
            "carry": dict(zip(carry_pos, res[:nc])),
            "ys": dict(zip(ys_pos, res[nc : nc + ny])),
            "cin": dict(zip(cin_pos, res[nc + ny :])),
        }
