r"""The symbolic part under a deadline: SymPy computes exactly, so a small expression can
cost it without bound. It runs in a forked child process that is killed when the time is
up (with its address space capped), or, where there is no fork, in a daemon thread that is
abandoned; either way the caller waits no longer than the deadline."""

from __future__ import annotations

import os
import threading
import time
import warnings

from .symbolic import _TOO_BIG, SYMPY_HINT, _failed, _symbolic

# Address space the symbolic child process may add to what it inherits (Linux): SymPy's
# exact numbers can grow faster than the deadline stops them.
_CHILD_MEMORY_MARGIN = 4 << 30


def _sympy_part(f, arrays, names, g_ad, symbolic, timeout):
    if not symbolic:
        return {"status": "skipped", "reason": "symbolic=False"}
    try:
        import sympy  # noqa: F401  (imported here, once, before any child is started)
    except ImportError:
        return {"status": "unavailable", "reason": SYMPY_HINT}

    def work(stage):
        return _symbolic(f, arrays, names, g_ad, stage)

    if timeout is None:
        return work(lambda _: None)
    if "fork" in _start_methods():
        return _run_in_child(work, timeout)
    return _run_in_thread(work, timeout)


def _start_methods():
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def _timed_out(timeout, stage) -> dict:
    return {
        "status": "timeout",
        "reason": f"timed out after {timeout:g} s while {stage}",
        "explanation": (
            "SymPy works with exact numbers and whole expressions, whose cost can grow "
            "without bound (huge exact values, expression swell); it was stopped. Allow more "
            "time with compare(..., timeout=SECONDS) (adgraph compare --sympy-timeout "
            "SECONDS). AD and finite differences are unaffected."
        ),
    }


def _run_in_child(work, timeout) -> dict:
    """``work(stage)`` in a forked child, killed after ``timeout`` seconds. A child that
    deadlocks (forked from a process whose other threads held locks) or crashes is reported
    the same way: the parent never waits longer than ``timeout``."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    start = time.perf_counter()
    child = ctx.Process(target=_child_main, args=(send, work), daemon=True)
    try:
        with warnings.catch_warnings():
            # Python >= 3.12 warns that forking a threaded process may deadlock the child;
            # the deadline below bounds that case too.
            warnings.simplefilter("ignore", DeprecationWarning)
            child.start()
    except (AssertionError, OSError):
        # a daemonic process (a multiprocessing pool's worker) may not have children, and
        # fork can fail for want of memory or processes: the thread keeps the deadline
        recv.close()
        send.close()
        return _run_in_thread(work, max(1e-3, start + timeout - time.perf_counter()))
    send.close()
    stage = "starting"
    kind = None
    try:
        while True:
            left = start + timeout - time.perf_counter()
            if left <= 0:
                return _timed_out(timeout, stage)
            if not recv.poll(min(left, 60.0)):  # (select() refuses very long waits)
                continue
            try:
                kind, value = recv.recv()
            except (EOFError, OSError):
                child.join(1.0)
                code = child.exitcode
                how = f"exit status {code}" if code is None or code >= 0 else f"signal {-code}"
                return {
                    "status": "failed",
                    "reason": f"the SymPy process ended without an answer ({how}) while {stage}",
                    "explanation": _TOO_BIG,
                }
            if kind == "stage":
                stage = value
            else:
                return value
    finally:
        if kind == "done":
            child.join(1.0)  # a child that answered exits at once
        if child.is_alive():
            child.kill()
        child.join(5.0)
        recv.close()


def _child_main(conn, work) -> None:
    _limit_memory()
    stage = ["starting"]

    def report(text):
        stage[0] = text
        conn.send(("stage", text))

    try:
        result = work(report)
    except BaseException as e:  # noqa: BLE001  (the parent gets a report, never a hang)
        result = _failed(stage[0], e)
    try:
        conn.send(("done", result))
    except BaseException:  # noqa: BLE001  (the parent is gone or stopped us: nobody to tell)
        pass
    finally:
        conn.close()


def _limit_memory() -> None:
    """Cap the child's address space at what it has now plus a margin (Linux), so that
    SymPy's exact arithmetic fails with MemoryError instead of exhausting the machine."""
    try:
        import resource

        with open("/proc/self/statm") as fh:
            now = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = now + _CHILD_MEMORY_MARGIN
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        if soft == resource.RLIM_INFINITY or want < soft:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    except (ImportError, OSError, ValueError):
        pass


def _run_in_thread(work, timeout) -> dict:
    """Where there is no fork: ``work`` in a daemon thread, abandoned after ``timeout``
    seconds (it cannot be stopped; it ends with the process)."""
    box = {"stage": "starting"}

    def stage(text):
        box["stage"] = text

    def target():
        try:
            box["result"] = work(stage)
        except BaseException as e:  # noqa: BLE001
            box["result"] = _failed(box["stage"], e)

    thread = threading.Thread(target=target, name="adgraph-compare-sympy", daemon=True)
    thread.start()
    end = time.perf_counter() + timeout
    while thread.is_alive() and (left := end - time.perf_counter()) > 0:
        thread.join(min(left, 60.0))
    if "result" not in box:
        return _timed_out(timeout, box["stage"])
    return box["result"]
