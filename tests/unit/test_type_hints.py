"""Every public function and method of the package carries type hints.

Public: a module-level function or a method whose name does not start with "_" (dunder methods
count), in a class whose name does not start with "_". ``__repr__``, ``__str__``,
``__post_init__``, ``__reduce__``, ``__enter__``, ``__exit__`` and ``__call__`` are exempt. Every
parameter but ``self``/``cls`` needs an annotation (``*args`` and ``**kwargs`` included), and every
such function but ``__init__`` a return annotation (``-> None`` where it returns nothing). Numba
kernels count too: Numba ignores annotations, so they document what the callers pass. The
check reads the source (``ast``), importing nothing.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXEMPT = {"__repr__", "__str__", "__post_init__", "__reduce__", "__enter__", "__exit__", "__call__"}


def _is_public(name: str) -> bool:
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def _missing(path: Path) -> list[str]:
    """'path:line qualified.name args=[...] ret=missing|ok' for each public function of ``path``
    that lacks an annotation."""
    out = []

    def visit(nodes: list[ast.stmt], prefix: str, private_class: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.", private_class or node.name.startswith("_"))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if private_class or not _is_public(node.name) or node.name in EXEMPT:
                    continue
                a = node.args
                params = a.posonlyargs + a.args + a.kwonlyargs + [p for p in (a.vararg, a.kwarg) if p is not None]
                bare = [p.arg for p in params if p.annotation is None and p.arg not in ("self", "cls")]
                no_return = node.returns is None and node.name != "__init__"
                if bare or no_return:
                    out.append(
                        f"{path.relative_to(ROOT)}:{node.lineno} {prefix}{node.name} "
                        f"args={bare} ret={'missing' if no_return else 'ok'}"
                    )

    visit(ast.parse(path.read_text(), filename=str(path)).body, "", False)
    return out


def test_every_public_function_has_type_hints():
    files = sorted(p for p in (ROOT / "sim").rglob("*.py") if "__pycache__" not in p.parts)
    assert files, "no source files found under sim/"
    missing = [line for path in files for line in _missing(path)]
    assert not missing, f"{len(missing)} public functions lack type hints:\n" + "\n".join(missing)
