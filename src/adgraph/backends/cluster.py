"""A ``dask.distributed`` cluster on this machine alone, for examples, tests and notebooks.

:func:`local_cluster` starts a ``LocalCluster`` that listens on the loopback interface only:
in-process workers (threads, no sockets between them) by default, or worker processes on
127.0.0.1; the scheduler's and the workers' dashboards on free loopback ports. For a real
cluster, connect a ``distributed.Client`` to its scheduler instead: adgraph needs nothing
more, since Dask arrays carry their graph to whichever scheduler computes them.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["local_cluster", "dashboard_link"]


def _distributed():
    try:
        return importlib.import_module("distributed")
    except ImportError as e:
        from . import BackendUnavailableError

        raise BackendUnavailableError(
            f"dask.distributed is not installed ({e}); pip install adgraph[dask]"
        ) from e


def local_cluster(
    workers: int = 1, threads: int = 2, processes: bool = False, **kwargs: Any
) -> Any:
    """A ``distributed.LocalCluster`` bound to 127.0.0.1 (close it, or use ``with``).

    ``workers``: number of workers; ``threads``: threads per worker; ``processes``: workers
    in separate processes (default: in this process, which starts in about a second and
    needs no pickling). Other keyword arguments go to ``LocalCluster``.
    """
    distributed = _distributed()
    kw = dict(
        n_workers=workers,
        threads_per_worker=threads,
        processes=processes,
        dashboard_address="127.0.0.1:0",
        worker_dashboard_address="127.0.0.1:0",
    )
    if processes:
        kw["host"] = "127.0.0.1"
    kw.update(kwargs)
    return distributed.LocalCluster(**kw)


def dashboard_link(client_or_cluster: Any) -> str:
    """The address of the scheduler's dashboard, with the host it actually listens on (an
    in-process cluster would otherwise report the machine's public address)."""
    distributed = _distributed()
    obj = client_or_cluster
    cluster = obj.cluster if isinstance(obj, distributed.Client) else obj
    scheduler = getattr(cluster, "scheduler", None) if cluster is not None else None
    port = getattr(getattr(scheduler, "http_server", None), "port", None)
    if isinstance(port, int):  # a scheduler running in this process
        return f"http://127.0.0.1:{port}/status"
    return obj.dashboard_link
