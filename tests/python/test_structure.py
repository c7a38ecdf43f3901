"""The core's structure holds: each module imports only from the floors below it, and
Keras's internals are touched in `lrschedule._keras` only, each of them still where the
installed Keras has it.

A Keras release that moves one of the internals fails `test_every_keras_internal_is_where_we_use_it`
with the entry's name and what it is for (`_keras.KERAS_INTERNALS`), before anything
else fails in a less readable way.
"""

import ast
import io
import re
import tokenize
from pathlib import Path

import keras
import numpy as np
import pytest

import lrschedule as lrs
from lrschedule import _keras

ROOT = Path(lrs.__file__).resolve().parent

# The floors, lowest first: a module may import lrschedule modules of lower floors only.
FLOORS = [
    ["_validation"],
    ["_tables", "_keras", "warnings"],
    ["schedules"],
    ["_evaluation"],
    ["inspection", "_rate"],
    ["_control"],
    ["_queries", "optimizers"],
    ["_horizon"],
    ["callbacks._base"],
    ["callbacks.horizon_check", "callbacks.lr_logger", "callbacks.reduce_lr_on_plateau",
     "callbacks.schedule_lr", "lr_finder"],
    ["callbacks", "recipes"],
    [""],  # lrschedule itself (__init__.py)
]
FLOOR = {name: i for i, names in enumerate(FLOORS) for name in names}


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules():
    return sorted((module_name(p), p) for p in ROOT.rglob("*.py"))


def imported(tree, name):
    """The lrschedule modules a module imports, anywhere in it (functions included)."""
    package = name if name in ("", "callbacks") else name.rpartition(".")[0]
    def resolve(target):
        if target != "lrschedule" and not target.startswith("lrschedule."):
            return None
        inner = target[len("lrschedule."):] if target != "lrschedule" else ""
        while inner and inner not in FLOOR:
            inner = inner.rpartition(".")[0]
        return inner

    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [resolve(a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative
                base = ".".join(filter(None, ["lrschedule", package, base]))
            # `from lrschedule import schedules` names a module; `from
            # lrschedule.schedules import X` names X in a module.
            targets = []
            for alias in node.names:
                full = f"{base}.{alias.name}"
                module = full[len("lrschedule."):] if full.startswith("lrschedule.") else None
                targets.append(resolve(full) if module in FLOOR else resolve(base))
        else:
            continue
        found.update(t for t in targets if t is not None)
    found.discard(name)
    return found


@pytest.mark.backend_independent
def test_every_module_has_a_floor():
    missing = [name for name, _ in modules() if name not in FLOOR]
    assert not missing, f"place these modules in FLOORS (tests/python/test_structure.py): {missing}"


@pytest.mark.backend_independent
def test_each_module_imports_only_from_lower_floors():
    wrong = []
    for name, path in modules():
        tree = ast.parse(path.read_text())
        for target in imported(tree, name):
            if FLOOR[target] >= FLOOR[name] and not (name == "" or name == "callbacks"):
                wrong.append(f"{name or 'lrschedule'} (floor {FLOOR[name]}) imports "
                             f"{target or 'lrschedule'} (floor {FLOOR[target]})")
    assert not wrong, "imports from the same or a higher floor:\n" + "\n".join(wrong)


@pytest.mark.backend_independent
def test_the_floor_check_finds_an_upward_import():
    tree = ast.parse("def f():\n    from lrschedule.callbacks._base import LRCallback\n")
    assert imported(tree, "schedules") == {"callbacks._base"}
    tree = ast.parse("from lrschedule import _keras, schedules as ours\n")
    assert imported(tree, "_rate") == {"_keras", "schedules"}


def code_only(source):
    """The source without its strings and comments (docstrings may name internals)."""
    kept = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (tokenize.STRING, tokenize.COMMENT):
            kept.append(token.string)
    return " ".join(kept)


def internal_patterns():
    patterns = {}
    for where, name, _ in _keras.KERAS_INTERNALS:
        if where.startswith("keras."):
            patterns[name] = re.compile(r"\bkeras\s*\.\s*src\b")
        else:
            patterns[name] = re.compile(r"\b" + re.escape(name) + r"\b")
    return patterns


@pytest.mark.backend_independent
def test_keras_internals_are_touched_in_the_floor_module_only():
    patterns = internal_patterns()
    found = []
    for name, path in modules():
        if name == "_keras":
            continue
        code = code_only(path.read_text())
        found += [f"{name}: {internal}" for internal, p in patterns.items() if p.search(code)]
    assert not found, ("Keras internals outside lrschedule/_keras.py (move them there and "
                       "list them in KERAS_INTERNALS):\n" + "\n".join(found))


@pytest.mark.backend_independent
def test_the_scan_sees_an_internal_in_code_but_not_in_a_docstring():
    patterns = internal_patterns()
    assert patterns["_iterations"].search(code_only("x = optimizer._iterations\n"))
    assert not patterns["_iterations"].search(code_only('"""optimizer._iterations"""\n'))
    assert patterns["print_msg"].search(code_only("from keras.src.utils import io_utils\n"))


@pytest.mark.backend_independent
def test_every_keras_internal_the_floor_uses_is_listed():
    source = (ROOT / "_keras.py").read_text()
    ours = {node.name for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    used = set(re.findall(r"\.\s*(_[a-z][a-z_]*)\b", code_only(source))) - ours
    listed = {name for _, name, _ in _keras.KERAS_INTERNALS}
    assert used <= listed, f"private attributes used in _keras.py but not listed: {used - listed}"


def _objects():
    """An instance of each kind of object KERAS_INTERNALS names, on this backend."""
    variable = keras.Variable(np.zeros((2,), "float32"))
    sgd = keras.optimizers.SGD(0.1)
    sgd.build([variable])
    rmsprop = keras.optimizers.RMSprop(0.1, momentum=0.9, centered=True)
    rmsprop.build([variable])
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    objects = {
        "optimizer": sgd,
        "rmsprop": rmsprop,
        "model": model,
        "cosine_decay": keras.optimizers.schedules.CosineDecay(0.1, 10, warmup_target=0.2,
                                                               warmup_steps=5),
        "metric": keras.metrics.Accuracy(),
    }
    if _keras.MultiOptimizer is not None:
        objects["multi_optimizer"] = _keras.MultiOptimizer(
            keras.optimizers.OptimizerMap(keras.optimizers.SGD(0.1), {}))
    return objects


@pytest.mark.parametrize("where, name, why", _keras.KERAS_INTERNALS,
                         ids=[f"{w}.{n}" for w, n, _ in _keras.KERAS_INTERNALS])
def test_every_keras_internal_is_where_we_use_it(where, name, why):
    if where.startswith("keras."):
        import importlib

        try:
            module = importlib.import_module(where)
        except ImportError:
            module = None
        assert hasattr(module, name), (
            f"Keras {keras.__version__} has no {where}.{name}, which lrschedule uses for {why}: "
            "update lrschedule/_keras.py")
        return
    if name == "jax_state_sync" and keras.backend.backend() != "jax":
        pytest.skip("a method of JAX's trainer only (looked up with getattr elsewhere)")
    if where == "multi_optimizer" and _keras.MultiOptimizer is None:
        pytest.skip("a Keras without MultiOptimizer")
    owner = _objects()[where]
    assert hasattr(owner, name), (
        f"Keras {keras.__version__}'s {type(owner).__name__} has no attribute {name!r}, "
        f"which lrschedule uses for {why}: update lrschedule/_keras.py")
