"""Very long programs in C: the statements cut into several functions.

The C compiler's time grows faster than linearly with the size of one function (register
allocation over thousands of live values): a program of more than
:data:`SPLIT_STATEMENTS` statements is cut into ``static`` functions of that many
statements each, called one after the other for every point. A value used after the
function that computes it is stored in a per-type state array as soon as it is computed
and read back where it is first used, so no value stays live across a function.
"""

from __future__ import annotations

from .scalars import Sym, Var, ctype

__all__ = ["SPLIT_STATEMENTS", "split_program"]


#: Programs with more statements than this are split into functions of at most
#: :data:`SPLIT_STATEMENTS` statements each, and built with -O1 instead of -O2: the C
#: compiler's work grows faster than linearly with the size of one function (the
#: 16,000 statements of an unrolled 2,000-step recurrence and its gradient take about
#: 40 s of CPU at -O2 and 20 s at -O1 as one function, about 3 s at -O1 split).
SPLIT_STATEMENTS = 500


def split_program(kept, outs, out_lines, fname, ptrs, write, size=SPLIT_STATEMENTS):
    """``(functions, calls, [(C type, state size)])``: the statements ``kept`` cut into
    ``static`` functions of at most ``size`` statements (``write`` writes statements as
    C lines, ``out_lines`` write the outputs and go last); a value used after the function
    that computes it goes through a per-type state array."""
    chunks = [kept[k : k + size] for k in range(0, len(kept), size)]
    where = {}  # variable name -> (chunk, dtype)
    for c, chunk in enumerate(chunks):
        for st in chunk:
            for v in st.outs:
                where[v.name] = (c, v.dtype)
    out_names = {e.name for o in outs if isinstance(o, Sym) for e in o.e.flat if isinstance(e, Var)}
    slots: dict = {}  # name -> (ctype, slot)
    counts: dict = {}
    exported: list[set] = [set() for _ in chunks]
    imported: list[set] = [set() for _ in chunks]

    def use(name, c):
        got = where.get(name)
        if got is None or got[0] == c:
            return
        exported[got[0]].add(name)
        imported[c].add(name)
        if name not in slots:
            ct = ctype(got[1])
            slots[name] = (ct, counts.get(ct, 0))
            counts[ct] = counts.get(ct, 0) + 1

    last = len(chunks) - 1
    for c, chunk in enumerate(chunks):
        for st in chunk:
            for d in st.deps:
                use(d, c)
    for name in out_names:
        use(name, last)
    types = sorted(counts)
    state_params = [f"{ct}* restrict S_{ct}" for ct in types]
    parts: list[str] = []
    for c, chunk in enumerate(chunks):
        parts.append(
            f"static __attribute__((noinline)) void {fname}_part{c}({', '.join(ptrs + state_params)})"
        )
        parts.append("{")
        # A value is read from the state where first used, and stored as soon as it is
        # computed: none stays live across the function (register pressure).
        loaded: set = set()

        def load(names, c=c, loaded=loaded):
            for name in names:
                if name in imported[c] and name not in loaded:
                    loaded.add(name)
                    ct, k = slots[name]
                    parts.append(f"    const {ct} {name} = S_{ct}[{k}];")

        for st in chunk:
            load(st.deps)
            parts.extend(write([st], "    "))
            for v in st.outs:
                if v.name in exported[c]:
                    ct, k = slots[v.name]
                    parts.append(f"    S_{ct}[{k}] = {v.name};")
        if c == last:
            load(sorted(out_names))
            parts += [ln[4:] for ln in out_lines]
        parts += ["}", ""]
    n_in = sum(1 for p in ptrs if p.startswith("const"))
    args = [f"x{k}" for k in range(n_in)] + [f"y{k}" for k in range(len(ptrs) - n_in)]
    args += [f"S_{ct}" for ct in types]
    calls = [f"        {fname}_part{c}({', '.join(args)});" for c in range(len(chunks))]
    return parts, calls, [(ct, counts[ct]) for ct in types]
