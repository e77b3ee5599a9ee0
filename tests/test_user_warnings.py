"""NumPy's RuntimeWarnings raised inside adgraph's rules are shown at the user's line."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _stderr(tmp_path, files: dict[str, str]) -> str:
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    proc = subprocess.run(
        [sys.executable, "-W", "default", str(tmp_path / "main.py")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def _locations(stderr: str) -> list[tuple[str, int, str]]:
    out = []
    for line in stderr.splitlines():
        if ": RuntimeWarning: " in line:
            where, _, message = line.partition(": RuntimeWarning: ")
            path, _, lineno = where.rpartition(":")
            out.append((path.rsplit("/", 1)[-1], int(lineno), message))
    return out


def test_warnings_of_primal_and_derivative_rules_point_at_the_user(tmp_path):
    stderr = _stderr(
        tmp_path,
        {
            "model.py": """\
                import adgraph.numpy as anp


                def loss(x):
                    return anp.sum(anp.log(x))
            """,
            "main.py": """\
                import numpy as np
                import adgraph as ad
                from model import loss

                g = ad.grad(loss)(np.array([0.0, 1.0]))
                assert g[0] == np.inf and g[1] == 1.0
                t = ad.jvp(lambda x: x / 0.0, (np.array([1.0]),), (np.array([1.0]),))
            """,
        },
    )
    where = _locations(stderr)
    # log(0) in the user's function, at its line; the derivative 1/x in the reverse sweep,
    # at the line that called grad; the division under jvp, at the lambda's line
    assert ("model.py", 5, "divide by zero encountered in log") in where
    assert any(w[:2] == ("main.py", 5) and "divide by zero" in w[2] for w in where), where
    assert any(w[:2] == ("main.py", 7) and "divide by zero" in w[2] for w in where), where
    assert "site-packages" not in stderr and "/adgraph/" not in stderr, stderr


def test_a_program_that_replaces_showwarning_keeps_its_own(tmp_path):
    stderr = _stderr(
        tmp_path,
        {
            "main.py": """\
                import sys
                import warnings
                import numpy as np
                import adgraph as ad
                import adgraph.numpy as anp

                seen = []
                warnings.showwarning = lambda m, c, f, n, *a: seen.append(f)
                ad.grad(lambda x: anp.sum(anp.log(x)))(np.array([0.0, 1.0]))
                assert seen and all("adgraph" in f for f in seen), seen
                print("own hook", file=sys.stderr)
            """,
        },
    )
    assert "own hook" in stderr and _locations(stderr) == []
