"""A Network's frequency samples on a Dask cluster, with results identical to a serial run.

    from sim.radiative import distributed
    client = distributed.connect(workers=4)          # or connect(scheduler="tcp://host:8786")
    with distributed.on_cluster(net, client):
        net.transmission(omega); net.conductance(300.0)   # same numbers as without the cluster

Design
------
Every spectrum a ``Network`` computes goes through one method, ``Network._spectra(omega (n,),
environment)``: the sampled grids (``transmission``, ``environment_transmission``) call it
directly, and the ``PanelStore`` of each spectral integral calls it (through the store's
``evaluate``) once per round of panel refinement, with every missing Gauss-Kronrod node of
that round in one array. Given the geometry it is a pure function of omega, so it can be
cut into pieces whose results are concatenated.

``install(net, client)`` puts a ``DistributedSpectra`` in the instance attribute
``net._spectra``, which shadows the method: the stores' ``evaluate`` lambdas and the grid
methods look the name up at call time, so everything the network computes goes to the
cluster while its frequency nodes, panels, refinement and caching stay exactly the serial
ones (nothing in network.py or spectra.py changes). ``uninstall`` (or leaving
``on_cluster``) removes the attribute and the serial method is back.

A call cuts omega into contiguous chunks whose boundaries depend only on len(omega), the
number of workers counted when the handle was made (``chunks_per_worker`` per worker, at
least ``min_chunk`` frequencies each) and the model's block (below), never on timing;
submits one task per chunk and concatenates the results in order. A task carries a
picklable description of the network (``network_spec``: positions, radii, materials as
preset names or, for other materials, the ``Material`` objects, B, and the
``model``/``lmax`` attributes where the Network has them, the order already resolved so
that an automatic order is not searched again) plus the chunk; the worker rebuilds
``Network(..., cache=False)`` once and keeps it in a module-level dict keyed by the
description, then calls the real ``_spectra`` on the chunk. The rebuilt network's
``description()`` (what the spectra cache key hashes: everything the spectra depend on)
must equal the client's, otherwise the task fails: an attribute the spectra depend on that
is not shipped cannot give silently different numbers. Tasks are pure, so they are
submitted with retries (a worker lost mid-chunk has it recomputed elsewhere). A process
lock serialises evaluations inside a worker (Numba's default threading layer must not be
entered from two threads at once), so only worker processes count: start remote workers
with ``--nthreads 1``.

Why the bits are the serial ones. (1) Blocks: each frequency's result must not depend on
which other frequencies share its call. Both models guarantee it (the dipole model's Numba
kernels loop over frequencies and its LAPACK solve is batched per frequency; the multipole
model batches per frequency too and sums with einsum/reduceat, never a BLAS product across
frequencies; both tested), so chunks may start anywhere (``spectra_block`` = 1); a model not
known here is not split.
(2) Libraries: the LU of a large system (many particles, or the multipole model) differs
in the last bits between OpenBLAS thread counts, and Dask starts workers with
OPENBLAS_NUM_THREADS=1. So a local cluster (``connect(workers=W)``) starts its workers with
the client process's BLAS thread count (queried from the loaded OpenBLAS/MKL) and
NUMBA_NUM_THREADS = cores // W (that one only for speed: the kernels are exact whatever
the thread count). For any cluster ``DistributedSpectra`` compares, once, each worker's
Python, NumPy, SciPy, Numba, host CPU (as LLVM names it) and BLAS libraries, threads and
kernel set with the client's and warns (``ReproducibilityWarning``) on a difference:
results are then still correct but may differ from a serial run in the last bits. The
workers must import the same ``sim`` (installed or on their path).

Cost (measured on the 2-core development machine, under load): starting a LocalCluster of
2 workers takes 3.5-5.5 s and closing it ~2 s; a fresh worker pays ~1 s on its first task
(imports, Numba's cached kernels, the rebuild); then a call costs ~15 ms of round trip and
each further task ~3 ms. The dipole model costs ~40 us per frequency for 4 spheres, so it
gains nothing on a small machine (and the serial run's Numba kernels already use every
core). The multipole model (10-100 ms per frequency) amortises the overhead, but at large
orders its serial run already keeps the cores busy in threaded BLAS, so a gain needs more
cores (or machines) than one process uses. Errors in the options are ``ValueError``
naming the option, its value and the allowed range (as ``sim.ensemble``).
"""

from __future__ import annotations

import contextlib
import os
import platform
import threading
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.validation import check_int

if TYPE_CHECKING:
    from dask.distributed import Client

    from sim.radiative.network import Network

#: seconds to wait for a scheduler (and for its first worker)
CONNECT_TIMEOUT = 10.0
#: Network attributes passed to the rebuilt network when the Network has them (not None)
MODEL_ATTRIBUTES = ("model", "lmax")
#: rebuilt networks kept per worker process
_MAX_NETWORKS = 8

_NETWORKS: OrderedDict[str, object] = OrderedDict()
_LOCK = threading.Lock()


class ReproducibilityWarning(UserWarning):
    """A worker's numerical stack differs from the client's: results may differ in the last bits."""


# ---------------------------------------------------------------------------- options, connection
def check_options(workers: int | None = None, scheduler: str | None = None) -> None:
    """Raise ValueError for --workers together with --scheduler, W < 1, or an empty address."""
    if workers is not None and scheduler is not None:
        raise ValueError(
            f"--workers = {workers!r} and --scheduler = {scheduler!r} exclude each other; allowed: one of them"
        )
    if workers is not None:
        check_int("--workers", workers, low=1)
    if scheduler is not None and not str(scheduler).strip():
        raise ValueError(
            f"--scheduler = {scheduler!r} is empty; allowed: the address of a running dask "
            "scheduler, e.g. tcp://host:8786"
        )


def connect(workers: int | None = None, scheduler: str | None = None, timeout: float | None = None) -> Client:
    """A Dask client: an existing cluster at ``scheduler`` (with at least one worker) or a
    LocalCluster of ``workers`` single-threaded processes (default 2) whose BLAS thread count
    is the client's. Close it with ``close``."""
    check_options(workers, scheduler)
    timeout = CONNECT_TIMEOUT if timeout is None else float(timeout)
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ValueError(
            "spectra on a cluster (--workers, --scheduler) run on Dask, which is not installed; "
            "install it with: pip install -e '.[dask]'"
        ) from None

    if scheduler is not None:
        allowed = "allowed: the address of a running dask scheduler, e.g. tcp://host:8786"
        try:
            client = Client(scheduler, timeout=timeout)
        except ValueError as exc:
            raise ValueError(f"--scheduler = {scheduler!r} is not a valid address ({exc}); {allowed}") from None
        except (OSError, TimeoutError) as exc:
            raise ValueError(
                f"--scheduler = {scheduler!r} is unreachable within {timeout:g} s ({exc}); {allowed}"
            ) from None
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError):
            client.close()
            raise ValueError(
                f"--scheduler = {scheduler!r} has no workers after {timeout:g} s; allowed: a "
                "scheduler with at least one worker"
            ) from None
        return client
    workers = check_int("--workers", workers if workers is not None else 2, low=1)
    with _environ(_local_worker_environment(workers)):
        # no dashboard; its HTTP server (health, metrics) on a free port, not a contended 8787
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            scheduler_kwargs={"dashboard": False},
            host="127.0.0.1",
        )
    return Client(cluster)


def close(client: Client) -> None:
    """Close a client from ``connect`` and the LocalCluster it started, if any (never a remote one)."""
    from dask.distributed import LocalCluster

    cluster = client.cluster
    client.close()
    if isinstance(cluster, LocalCluster):
        cluster.close()


def _local_worker_environment(workers: int) -> dict[str, str]:
    """Environment for local workers: the client's BLAS thread counts (bit-identical LU) and a
    share of the cores for Numba (speed only); a NUMBA_NUM_THREADS set by the user is kept."""
    env = {}
    for lib in _blas_state():
        var = "MKL_NUM_THREADS" if lib["kind"] == "mkl" else "OPENBLAS_NUM_THREADS"
        env.setdefault(var, str(lib["threads"]))
    env.setdefault(
        "NUMBA_NUM_THREADS", os.environ.get("NUMBA_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
    )
    return env


@contextlib.contextmanager
def _environ(values: dict[str, str]):
    """Set environment variables while the workers are spawned, then restore the client's
    (Dask's nanny writes its pre-spawn variables into this process's environment too)."""
    keys = set(values) | {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_"}
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def process_pool(workers: int) -> Iterator[Any]:
    """A local pool of ``workers`` processes for independent computations (a drag study's map
    points and sign-change bracketings), or None for ``workers`` = 1 (compute in this process).

    Each worker runs single-threaded BLAS (and cores // workers Numba threads): on a machine
    with as many cores as workers, two one-thread LU solves side by side outrun one two-thread
    solve (8 blocks of 224: 14.7 vs 19.4 ms a block set, 2-core machine), whereas two-thread
    workers oversubscribe the cores (27 ms). The LU's last bits depend on the thread count, so
    results agree with a one-process run to round-off, not bit for bit. Spawned, not forked (the
    parent's BLAS and Numba threads must not be copied)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    workers = check_int("workers", workers, low=1)
    if workers == 1:
        yield None
        return
    single = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    single["NUMBA_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
    # the variables stay set while the pool lives: it spawns its processes on demand
    with _environ(single):
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        try:
            yield pool
        except BaseException:
            # interrupted (Ctrl-C, a termination signal, an error): stop the workers now, not after
            # their current point (minutes); the executor has no public way to in Python 3.11
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


def pool_map(pool: Any, fn: Any, items: Any, poll_s: float = 1.0) -> Iterator[Any]:
    """fn(item) for each item, computed on ``pool`` (``process_pool``; None: in this process),
    yielded in order. While it waits on the workers it checks every ``poll_s`` seconds whether a
    termination was requested (SIGTERM, ``sim.simulation.request_termination``): the workers run
    no step loop of this process, so it raises ``Terminated`` here, and ``process_pool`` stops them."""
    from concurrent.futures import TimeoutError as Pending

    from sim.simulation import Terminated, termination_requested

    if pool is None:
        yield from map(fn, items)
        return
    futures = [pool.submit(fn, item) for item in items]
    for future in futures:
        while True:
            try:
                result = future.result(timeout=poll_s)
                break
            except Pending:
                if termination_requested():
                    raise Terminated("SIGTERM: stopped while waiting on the worker processes") from None
        yield result


# ---------------------------------------------------------------------------- numerical environment
def _blas_state() -> list[dict]:
    """The BLAS libraries loaded in this process (Linux: from /proc/self/maps) with their
    thread counts and, for OpenBLAS, the kernel set ("Haswell", ...)."""
    import ctypes

    try:
        with open("/proc/self/maps") as fh:
            paths = sorted(
                {
                    line.split()[-1]
                    for line in fh
                    if ".so" in line and ("openblas" in line.lower() or "mkl_rt" in line.lower())
                }
            )
    except OSError:
        return []
    out = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        name = os.path.basename(path)
        if "mkl" in name.lower():
            if hasattr(lib, "MKL_Get_Max_Threads"):
                out.append({"kind": "mkl", "library": name, "threads": int(lib.MKL_Get_Max_Threads()), "core": ""})
            continue
        for prefix, suffix in (
            ("scipy_openblas", "64_"),
            ("scipy_openblas", ""),
            ("openblas", "64_"),
            ("openblas", ""),
        ):
            get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            if get is None:
                continue
            core = getattr(lib, f"{prefix}_get_corename{suffix}", None)
            if core is not None:
                core.restype = ctypes.c_char_p
            out.append(
                {
                    "kind": "openblas",
                    "library": name,
                    "threads": int(get()),
                    "core": core().decode() if core is not None else "",
                }
            )
            break
    return out


def numerical_environment() -> dict:
    """What the floating-point results depend on besides the code: library versions, the host
    CPU as LLVM (Numba) sees it, and the BLAS libraries with threads and kernels."""
    import numba
    import scipy

    try:
        from llvmlite import binding

        cpu = binding.get_host_cpu_name()
    except Exception:  # noqa: BLE001 - informative only
        cpu = platform.processor()
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
        "machine": platform.machine(),
        "cpu": cpu,
        "blas": [f"{b['library']} threads={b['threads']} core={b['core']}" for b in _blas_state()],
    }


def worker_mismatches(client: Client) -> list[str]:
    """Differences between each worker's ``numerical_environment`` and this process's."""
    import sim.radiative.network  # noqa: F401 - load NumPy's BLAS here as the workers do

    mine = numerical_environment()
    out = []
    for addr, theirs in client.run(_worker_environment).items():
        diff = [f"{k} {theirs.get(k)!r} (client {v!r})" for k, v in mine.items() if theirs.get(k) != v]
        if diff:
            out.append(f"worker {addr}: " + ", ".join(diff))
    return out


def _worker_environment() -> dict:
    import sim.radiative.network  # noqa: F401 - the libraries the spectra load

    return numerical_environment()


# ---------------------------------------------------------------------------- the network on workers
def network_spec(net: Network) -> dict:
    """A picklable description from which a worker rebuilds ``net`` (see the module doc)."""
    from sim.radiative.materials import PRESETS, get_material

    materials = []
    for m in net.materials:
        preset = m.name in PRESETS and get_material(m.name).fingerprint() == m.fingerprint()
        materials.append(m.name if preset else m)
    kwargs = {k: getattr(net, k) for k in MODEL_ATTRIBUTES if getattr(net, k, None) is not None}
    return {
        "positions": np.array(net.positions, dtype=float),
        "radii": np.array(net.radii, dtype=float),
        "materials": materials,
        "B": float(net.B),
        "kwargs": kwargs,
        "description": net.description(),
    }


def _spec_key(spec: dict) -> str:
    return spec["description"] + repr(sorted(spec["kwargs"].items()))


def _worker_network(spec: dict):
    """The network of ``spec`` in this process, rebuilt once (call with _LOCK held)."""
    from sim.radiative.network import Network

    key = _spec_key(spec)
    net = _NETWORKS.get(key)
    if net is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the client has already warned about this geometry
            net = Network(
                spec["positions"], spec["radii"], spec["materials"], B=spec["B"], cache=False, **spec["kwargs"]
            )
        if net.description() != spec["description"]:
            raise RuntimeError(
                "the network rebuilt on the worker differs from the client's: "
                f"{net.description()} != {spec['description']}; an attribute the spectra "
                "depend on is not shipped (sim.radiative.distributed.MODEL_ATTRIBUTES), or "
                "the worker runs another version of sim"
            )
        _NETWORKS[key] = net
        while len(_NETWORKS) > _MAX_NETWORKS:
            _NETWORKS.popitem(last=False)
    _NETWORKS.move_to_end(key)
    return net


def _evaluate_chunk(spec: dict, omega: np.ndarray, environment: bool, kwargs: dict):
    """Worker task: the real ``Network._spectra`` of the rebuilt network on one chunk."""
    with _LOCK:
        net = _worker_network(spec)
        return type(net)._spectra(net, omega, environment, **kwargs)


def spectra_block(net: Network, environment: bool) -> int | None:
    """Chunk boundaries on multiples of this reproduce the serial bits; None: do not split.
    1 for the dipole and multipole models (each frequency's bits do not depend on the others
    in its call, module doc), None for a model not known here. ``environment`` is accepted
    for models whose environment path would chunk differently; none does now."""
    return 1 if getattr(net, "model", "dipole") in ("dipole", "multipole") else None


class DistributedSpectra:
    """Drop-in for ``Network._spectra(omega, environment)`` that evaluates contiguous chunks of
    omega on the cluster of ``client`` and concatenates them in order (module doc).

    chunks_per_worker: chunks per worker process and call (more balance a heterogeneous
    cluster, fewer cost less overhead); min_chunk: fewest frequencies per chunk; check:
    compare the workers' numerical environment with the client's once, warning on a difference.
    Counters: ``calls``, ``tasks``, ``frequencies``.
    """

    def __init__(
        self, net: Network, client: Client, chunks_per_worker: int = 1, min_chunk: int = 16, check: bool = True
    ):
        self.client = client
        self.spec = network_spec(net)
        self.chunks_per_worker = check_int("chunks_per_worker", chunks_per_worker, low=1)
        self.min_chunk = check_int("min_chunk", min_chunk, low=1)
        self.workers = len(client.nthreads())
        if self.workers < 1:
            raise ValueError("the dask cluster has no workers; allowed: a cluster with at least one worker")
        self.blocks = {env: spectra_block(net, env) for env in (False, True)}
        if None in self.blocks.values():
            warnings.warn(
                f"model {getattr(net, 'model', None)!r} is not known to give each frequency the same "
                "bits whatever shares its call, so each call runs as one task (no speed-up); "
                "make its spectra chunk-independent and list it in spectra_block",
                ReproducibilityWarning,
                stacklevel=2,
            )
        self.calls = self.tasks = self.frequencies = 0
        if check:
            threads = {b["kind"]: b["threads"] for b in reversed(_blas_state())}
            hint = " ".join(f"{'MKL' if k == 'mkl' else 'OPENBLAS'}_NUM_THREADS={t}" for k, t in threads.items())
            for line in worker_mismatches(client):
                warnings.warn(
                    f"{line}: spectra there may differ from a serial run in the last bits"
                    + (f" (for the BLAS threads start the workers with {hint})" if "blas" in line else ""),
                    ReproducibilityWarning,
                    stacklevel=3,
                )

    def bounds(self, n: int, environment: bool = False) -> np.ndarray:
        """Chunk boundaries (k + 1,) for n frequencies: depend on n, the worker count and the
        model's block (multiples of it, but the last, n) only."""
        block = self.blocks[bool(environment)]
        if block is None:
            return np.array([0, n])
        n_blocks = -(-n // block)
        k = max(1, min(self.workers * self.chunks_per_worker, n // self.min_chunk, n_blocks))
        return np.minimum((np.arange(k + 1) * n_blocks) // k * block, n)

    def __call__(self, omega, environment: bool = False, **kwargs):
        omega = np.asarray(omega)
        cuts = self.bounds(len(omega), environment)
        token = uuid.uuid4().hex[:12]
        futures = [
            self.client.submit(
                _evaluate_chunk,
                self.spec,
                omega[a:b],
                environment,
                kwargs,
                key=f"spectra-{token}-{i}",
                pure=False,
                retries=2,
            )
            for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:]))
        ]
        parts = self.client.gather(futures)
        self.calls += 1
        self.tasks += len(futures)
        self.frequencies += len(omega)
        if isinstance(parts[0], tuple):
            return tuple(
                None if parts[0][c] is None else np.concatenate([p[c] for p in parts]) for c in range(len(parts[0]))
            )
        return np.concatenate(parts)


def install(net: Network, client: Client, **kw: Any) -> DistributedSpectra:
    """Evaluate every spectrum of ``net`` on the cluster from now on; returns the handle."""
    handle = DistributedSpectra(net, client, **kw)
    net._spectra = handle  # instance attribute: shadows Network._spectra for this network only
    return handle


def uninstall(net: Network) -> None:
    """Back to the serial ``Network._spectra``."""
    vars(net).pop("_spectra", None)


@contextlib.contextmanager
def on_cluster(net: Network, client: Client, **kw: Any) -> Iterator[DistributedSpectra]:
    """``install`` for the duration of a with-block; yields the handle."""
    handle = install(net, client, **kw)
    try:
        yield handle
    finally:
        uninstall(net)
