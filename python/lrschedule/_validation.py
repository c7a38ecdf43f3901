"""Argument checks shared by every public constructor.

One message format everywhere, Keras's own:
``Argument `decay_steps` must be > 0. Received: decay_steps=0``.
`TypeError` for a value of the wrong kind, `ValueError` for a value of the right
kind that is out of range. Every check returns the value normalised to a plain
Python type, so `get_config()` holds ints and floats, never numpy scalars.
"""

import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypeVar

import numpy as np
import numpy.typing as npt


def _plain_scalars(value, depth=0):
    """`value` with numpy scalars, in lists and tuples too, made Python numbers; lists
    nested deeper than a message could show are shown as "[...]"."""
    if isinstance(value, np.generic):
        return value.item()
    if type(value) in (list, tuple):
        if depth >= 8:
            return Ellipsis
        return type(value)(_plain_scalars(v, depth + 1) for v in value)
    if isinstance(value, dict) and depth >= 8:
        return Ellipsis
    return value


def _too_deep(value, limit=8):
    """Whether lists, tuples and dicts nest in `value` deeper than `limit` (counted
    without recursion, looking at no more than a few thousand of them)."""
    stack, seen = [(value, 0)], 0
    while stack and seen < 4096:
        node, depth = stack.pop()
        seen += 1
        if isinstance(node, (list, tuple, dict)):
            if depth >= limit:
                return True
            items = node.values() if isinstance(node, dict) else node
            stack.extend((v, depth + 1) for v in list(items)[:_SHOWN_ITEMS])
    return False


# More elements than a message's 120 characters can show (each takes at least 3).
_SHOWN_ITEMS = 64


def shown(value):
    """The value as messages show it, the same on NumPy 1 and 2 (whose scalar reprs
    read `np.float64(nan)` where NumPy 1 and Python read `nan`). An array shows as
    its list of values. A long list, tuple or array shows its first `_SHOWN_ITEMS`
    elements and "...": the same first 120 characters as the whole, without building
    the repr of millions of elements for a message that keeps 120."""
    if isinstance(value, np.ndarray):
        if value.ndim and len(value) > _SHOWN_ITEMS:
            return repr(value[:_SHOWN_ITEMS].tolist())[:-1] + ", ...]"
        return repr(value.tolist())
    if isinstance(value, (list, tuple, dict)) and _too_deep(value):
        return f"a {type(value).__name__} nested more than 8 levels deep"
    if type(value) in (list, tuple) and len(value) > _SHOWN_ITEMS:
        head = repr(_plain_scalars(type(value)(value[:_SHOWN_ITEMS])))
        return head[:-1] + ", ...)" if type(value) is tuple else head[:-1] + ", ...]"
    text = repr(_plain_scalars(value))
    if text.startswith("<") and " object at 0x" in text:
        # an object without a repr of its own (Keras's schedules): its class, no address
        return f"{type(value).__name__}(...)"
    return text


def _received(name, value):
    shown_value = shown(value)
    if len(shown_value) > 120:
        shown_value = shown_value[:117] + "..."
    return f"Received: {name}={shown_value}"


def _type_name(value):
    return type(value).__name__


def fail_value(name, value, expected):
    raise ValueError(f"Argument `{name}` must be {expected}. {_received(name, value)}")


def fail_type(name, value, expected):
    raise TypeError(
        f"Argument `{name}` must be {expected}. {_received(name, value)} "
        f"(of type {_type_name(value)})"
    )


def _is_real(value):
    return isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(
        value, (bool, np.bool_)
    )


def _unwrap_scalar(value):
    """Accepts 0-d numpy arrays (and length-1 nothing else) as scalars."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


# Schedules compute in float32: a number beyond its range is inf there.
FLOAT32_MAX = float(np.finfo(np.float32).max)
# Step counts are exact integers in float64 up to here, and a sum of a few of them
# stays far below the int64 steps Keras counts in.
MAX_WHOLE = 2**53


def number(name, value, *, minimum=None, maximum=None, min_inclusive=True,
           max_inclusive=True):
    """A finite real number within float32's range, optionally bounded. Returns a
    Python float."""
    value = _unwrap_scalar(value)
    if not _is_real(value):
        fail_type(name, value, "a number")
    value_f = float(value)
    if not math.isfinite(value_f):
        fail_value(name, value, "a finite number")
    if abs(value_f) > FLOAT32_MAX:
        fail_value(name, value, f"a number within float32's range (at most {FLOAT32_MAX:.4g} "
                   "in size)")
    if minimum is not None:
        if min_inclusive and value_f < minimum:
            fail_value(name, value, f">= {minimum:g}")
        if not min_inclusive and value_f <= minimum:
            fail_value(name, value, f"> {minimum:g}")
    if maximum is not None:
        if max_inclusive and value_f > maximum:
            fail_value(name, value, f"<= {maximum:g}")
        if not max_inclusive and value_f >= maximum:
            fail_value(name, value, f"< {maximum:g}")
    return value_f


def positive(name, value):
    value_f = number(name, value, minimum=0.0, min_inclusive=False)
    if np.float32(value_f) == 0:
        fail_value(name, value, "> 0 in float32 too (at least 1.4e-45)")
    return value_f


def non_negative(name, value):
    return number(name, value, minimum=0.0)


def integer(name, value, *, minimum=None, maximum=MAX_WHOLE):
    """A whole number (an integral float such as 1000.0 is accepted), at most `maximum`
    in size (2**53 by default). Returns int."""
    value = _unwrap_scalar(value)
    if not _is_real(value):
        fail_type(name, value, "an integer")
    if isinstance(value, (numbers.Integral, np.integer)):
        value_i = int(value)
    else:
        value_f = float(value)
        if not math.isfinite(value_f) or value_f != math.floor(value_f):
            fail_value(name, value, "a whole number")
        value_i = int(value_f)
    if minimum is not None and value_i < minimum:
        fail_value(name, value, f">= {minimum}" if minimum != 1 else "> 0")
    if maximum is not None and abs(value_i) > maximum:
        fail_value(name, value, "a whole number up to 2**53" if maximum == MAX_WHOLE
                   else f"a whole number up to {maximum}")
    return value_i


def count(name, value):
    """A strictly positive integer (a number of steps, a period)."""
    return integer(name, value, minimum=1)


def choice(name, value, choices):
    if not isinstance(value, str):
        fail_type(name, value, "one of " + ", ".join(repr(c) for c in choices))
    if value not in choices:
        fail_value(name, value, "one of " + ", ".join(repr(c) for c in choices))
    return value


def boolean(name, value):
    if not isinstance(value, (bool, np.bool_)):
        fail_type(name, value, "True or False")
    return bool(value)


def _as_list(name, value, what):
    if isinstance(value, (str, bytes, dict)) or value is None:
        fail_type(name, value, what)
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            fail_value(name, value, what)
        return value.tolist()
    try:
        return list(value)
    except TypeError:
        fail_type(name, value, what)


def _real_items(name, value, what, allow_empty):
    """(index, item, item as a float) for each element of a list of real numbers.

    Refuses what is not a list (TypeError), an empty list unless `allow_empty`
    (ValueError) and an element that is not a real number (TypeError).
    """
    items = _as_list(name, value, what)
    if not items and not allow_empty:
        fail_value(name, value, what)
    for i, item in enumerate(items):
        item = _unwrap_scalar(item)
        if not _is_real(item):
            fail_type(name, value, what)
        yield i, item, float(item)


def increasing_integers(name, value, *, minimum=0, allow_empty=False):
    """A sequence of strictly increasing integers >= minimum. Returns a list of int."""
    what = f"a non-empty list of strictly increasing integers >= {minimum}"
    out = []
    for i, item, item_f in _real_items(name, value, what, allow_empty):
        if not math.isfinite(item_f) or item_f != math.floor(item_f):
            fail_value(name, value, what + f" (element {i} is {shown(item)})")
        item_i = int(item)
        if item_i < minimum or item_i > MAX_WHOLE:
            fail_value(name, value, what + f" up to 2**53 (element {i} is {item_i})"
                       if item_i > MAX_WHOLE else what + f" (element {i} is {item_i})")
        if out and item_i <= out[-1]:
            fail_value(name, value, what + f" (element {i} is {item_i}, after {out[-1]})")
        out.append(item_i)
    return out


_CHUNK = 1 << 20  # elements converted at a time: bounded temporary memory


def _float_array(value):
    """`value` as a float64 array when it is a list or tuple of Python floats and ints
    (bools excluded) or a 1-D integer or float array, else None (the per-element
    checks then name what is wrong). Converted in chunks of `_CHUNK` elements."""
    if isinstance(value, np.ndarray):
        if value.ndim == 1 and value.dtype.kind in "iuf":
            return value.astype(np.float64)
        return None
    if type(value) not in (list, tuple):
        return None
    out = np.empty(len(value), dtype=np.float64)
    for start in range(0, len(value), _CHUNK):
        chunk = value[start:start + _CHUNK]
        if not set(map(type, chunk)) <= {float, int}:
            return None
        out[start:start + len(chunk)] = chunk
    return out


def numbers_list(name, value, *, minimum=None, allow_empty=False):
    """A sequence of finite numbers (each >= minimum). Returns a list of float.

    A list of Python numbers or a numeric array (what saved files and users give) is
    checked with NumPy; anything else element by element, with the same errors."""
    lower = "" if minimum is None else f" >= {minimum:g}"
    what = f"a non-empty list of finite numbers{lower} within float32's range"
    array = _float_array(value)
    if array is not None:
        if not array.size and not allow_empty:
            fail_value(name, value, what)
        good = np.isfinite(array) & (np.abs(array) <= FLOAT32_MAX)
        if minimum is not None:
            good &= array >= minimum
        if not good.all():
            i = int(np.argmin(good))
            fail_value(name, value, what + f" (element {i} is {shown(_unwrap_scalar(value[i]))})")
        return array.tolist()
    out = []
    for i, item, item_f in _real_items(name, value, what, allow_empty):
        if not math.isfinite(item_f) or abs(item_f) > FLOAT32_MAX or (
                minimum is not None and item_f < minimum):
            fail_value(name, value, what + f" (element {i} is {shown(item)})")
        out.append(item_f)
    return out


def real_array(name, value, what, *, element_what=None):
    """A 1-D numpy array of real numbers (possibly empty), in its own dtype.

    Refuses None, strings, dicts, what numpy cannot make an array of, a single value
    and anything else than real numbers (TypeError), and more than one dimension
    (ValueError). `element_what` is the expectation shown for elements of the wrong
    kind; `what` otherwise.
    """
    if value is None or isinstance(value, (str, bytes, dict)):
        fail_type(name, value, what)
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001 - ragged, or not array-like
        fail_type(name, value, what)
    if array.ndim == 0:  # one value, not a real number (complex, an object...)
        fail_type(name, value, what)
    if array.ndim != 1:
        fail_value(name, value, what)
    if array.size and array.dtype.kind not in "iuf":
        fail_type(name, value, element_what or what)
    return array


def schedule(name, value):
    """A Keras LearningRateSchedule (ours or Keras's own)."""
    from keras.optimizers.schedules import LearningRateSchedule

    if not isinstance(value, LearningRateSchedule):
        fail_type(name, value, "a keras.optimizers.schedules.LearningRateSchedule")
    return value


# --------------------------------------------------------------------------------------
# What the public API's type hints say an argument is (the package ships py.typed, so a
# user's `mypy --strict` checks calls against them). Keras ships no type information:
# what Keras makes (schedules, optimizers, models, tensors, variables) is `Any` here, so
# the hints accept it whether a user's mypy ignores Keras's missing types or not, and
# force no error on them. Numbers take NumPy's scalars as the checks above do. Here,
# on the lowest floor, because every module imports this one (as `check`) already.

Real: TypeAlias = float | np.floating[Any] | np.integer[Any]  # an int is a float to mypy
Integer: TypeAlias = int | np.integer[Any]
IntegerList: TypeAlias = Sequence[int] | npt.NDArray[Any]  # a list, a range, an array
RealList: TypeAlias = Sequence[float] | npt.NDArray[Any]
Rate: TypeAlias = np.floating[Any]  # one rate, in the schedule's float dtype
Rates: TypeAlias = npt.NDArray[np.floating[Any]]
FloatArray: TypeAlias = npt.NDArray[np.float64]
KerasSchedule: TypeAlias = Any  # a keras.optimizers.schedules.LearningRateSchedule
KerasOptimizer: TypeAlias = Any  # a keras.optimizers.Optimizer
KerasModel: TypeAlias = Any  # a keras.Model
Tensor: TypeAlias = Any  # a backend's tensor, or what keras.ops converts to one
Function: TypeAlias = Callable[..., Any]
GroupNames: TypeAlias = str | Sequence[str] | None  # optimizers of a MultiOptimizer
# a list of layer names or lists of them, or a dict of such lists by group name
LayerGroups: TypeAlias = (Sequence[str | Sequence[str]] | Mapping[str, str | Sequence[str]]
                          | None)
Config: TypeAlias = dict[str, Any]
Horizon: TypeAlias = tuple[int, Literal["ends", "steps"]] | None
LengthsWanted: TypeAlias = list[tuple[Any, Callable[[int], int]]]
Schedules: TypeAlias = Iterable[Any]  # schedules, or numbers taken as constants
ScheduleT = TypeVar("ScheduleT")
if TYPE_CHECKING:  # matplotlib is an optional dependency
    from matplotlib.axes import Axes as Axes
else:
    Axes = Any
