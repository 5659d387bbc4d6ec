"""Kernel arguments by name: no kernel takes a long positional list, and every kernel is cached."""

import importlib
import inspect
import pkgutil

from numba.core.registry import CPUDispatcher

import sim

MAX_PARAMETERS = 12


def _kernels():
    for info in pkgutil.walk_packages(sim.__path__, "sim."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == module.__name__:
                yield f"{module.__name__}.{name}", obj


def test_no_kernel_takes_more_than_a_dozen_arguments_and_every_kernel_is_cached():
    kernels = dict(_kernels())
    assert {"sim.rod.kernels.advance", "sim.radiative.dynamics.kernels.advance_kernel"} <= set(kernels)
    long = {k: n for k, d in kernels.items() if (n := len(inspect.signature(d.py_func).parameters)) > MAX_PARAMETERS}
    assert not long, f"kernels with more than {MAX_PARAMETERS} parameters: {long}"
    uncached = [k for k, d in kernels.items() if type(d._cache).__name__ == "NullCache"]
    assert not uncached, f"kernels without cache=True: {uncached}"


def test_the_rod_state_and_the_kernels_arrays_name_the_same_fields_in_the_same_order():
    """``Rod.advance`` hands the kernel ``RodState``'s arrays in ``RodArrays`` order."""
    from dataclasses import fields

    from sim.rod.kernels import RodArrays
    from sim.rod.system import RodState

    assert [f.name for f in fields(RodState) if f.name != "step"] == list(RodArrays._fields)
