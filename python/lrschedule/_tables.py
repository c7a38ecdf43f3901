"""How a `Tabulated` schedule's table is written in a config: binary, compact, code-free.

A table of a million steps written as a JSON list of numbers took 23.6 MB and seconds
to save and load. In a config it is now a small dict of plain JSON values:

    {"dtype": "float32", "length": n, "codec": "byteplanes-zlib-base85", "data": "..."}

`data` is the zlib-compressed table, little-endian float32 (the precision the rates
are used at) with its bytes regrouped into four planes (every value's first byte,
then every second byte...), as base85 text (Python's `base64.b85encode` alphabet,
which needs no escaping in JSON). Neighbouring rates share their sign, exponent and
leading mantissa bits, so the planes compress well: a cosine curve takes about 0.5
bytes per step, a step decay almost nothing, and even random rates (3.25 bytes of
zlib data, the entropy of their mantissas) take about 4.06 bytes of text per step.
A `.keras` file stores its config.json uncompressed, so that is what a step adds.

Reading uses only zlib and NumPy, so `safe_mode` loading stays code-free; it checks
every field, never inflates more than the declared length, and refuses a declared
length over `MAX_LENGTH` before allocating anything, and inflates into the one table
it returns (no other copy of it). The base85 coding is done with
NumPy (Python's own takes seconds for a million steps); `base64.b85decode()` reads
what it writes, and it reads what `base64.b85encode()` writes.
"""

import zlib

import numpy as np

from lrschedule import _validation as check

CODEC = "byteplanes-zlib-base85"
# 2**28 steps: a 1 GiB table, far beyond any run (a million steps is 4 MB). What reading
# one costs is bounded by it: the float32 table itself (4 bytes a step, 1 GiB at most)
# and 16 MiB of inflated data at a time, beside the config text that holds it (a few
# bytes a step for real rates; 1.3 MB for 2**28 zeros).
MAX_LENGTH = 2**28
_KEYS = ("dtype", "length", "codec", "data")


def encode(table):
    """The config entry for a 1-D float32 table."""
    table = np.ascontiguousarray(table, dtype="<f4")
    planes = table.view(np.uint8).reshape(-1, 4).T
    data = zlib.compress(planes.tobytes(), 6)
    return {
        "dtype": "float32",
        "length": int(table.size),
        "codec": CODEC,
        "data": _b85encode(data),
    }


def is_encoded(value):
    return isinstance(value, dict)


def decode(name, value):
    """The float32 table from a config entry written by `encode()`, or a clear error
    naming `name`."""
    what = (
        f"a table written by lrschedule: a dict with keys {', '.join(_KEYS)} "
        f"(dtype 'float32', codec '{CODEC}')"
    )
    if not isinstance(value, dict):
        check.fail_type(name, value, what)
    if set(value) != set(_KEYS):
        check.fail_value(name, _summary(value), what + f" (it has keys {', '.join(sorted(map(str, value)))})")
    if value["dtype"] != "float32" or value["codec"] != CODEC:
        check.fail_value(
            name, _summary(value),
            what + f" (it has dtype {value['dtype']!r} and codec {value['codec']!r}; a newer "
            "lrschedule may have written it)",
        )
    length = value["length"]
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= MAX_LENGTH:
        check.fail_value(
            name, _summary(value),
            what + f" with a length from 1 to {MAX_LENGTH} (it declares {length!r})",
        )
    data = value["data"]
    if not isinstance(data, str):
        check.fail_value(name, _summary(value), what + " (its data is not a string)")
    raw = _b85decode(data)
    if raw is None:
        check.fail_value(name, _summary(value), what + " (its data is not base85 text)")
    table = _inflate(raw, length)
    if table is None:
        check.fail_value(
            name, _summary(value),
            what + f" (its data is not zlib data holding exactly {length} float32 values)",
        )
    return table


# Inflated bytes handled at a time: the decoder's working memory beside the table itself.
_CHUNK = 1 << 24


def _inflate(raw, length):
    """The table of `length` float32 values inflated from `raw` into one array (its
    byte planes put in place chunk by chunk, never more than the declared size), or
    None when the data is not exactly that."""
    table = np.empty(length, dtype="<f4")
    planes = table.view(np.uint8).reshape(length, 4)  # column p: byte plane p
    expected = 4 * length
    inflater = zlib.decompressobj()
    position, pending = 0, raw
    try:
        while position < expected:
            chunk = inflater.decompress(pending, min(_CHUNK, expected - position))
            pending = inflater.unconsumed_tail
            if not chunk:
                return None  # the stream ended (or stalled) short of the declared size
            data = np.frombuffer(chunk, dtype=np.uint8)
            while data.size:
                plane, offset = divmod(position, length)
                take = min(data.size, length - offset)
                planes[offset:offset + take, plane] = data[:take]
                data = data[take:]
                position += take
        more = inflater.decompress(pending, 1)  # one byte past the declared size?
    except zlib.error:
        return None
    if more or not inflater.eof or inflater.unconsumed_tail or inflater.unused_data:
        return None
    return table.astype(np.float32, copy=False)


def _summary(value):
    # The value shown in an error: the data string may be megabytes long.
    if isinstance(value, dict) and isinstance(value.get("data"), str) and len(value["data"]) > 40:
        value = dict(value, data=value["data"][:24] + f"... ({len(value['data'])} characters)")
    return value


_ALPHABET = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~",
    dtype=np.uint8,
)
_DIGITS = np.full(256, 255, dtype=np.uint8)
_DIGITS[_ALPHABET] = np.arange(85, dtype=np.uint8)
_POWERS = 85 ** np.arange(4, -1, -1, dtype=np.uint64)


def _b85encode(data):
    """`base64.b85encode(data).decode()`, vectorized."""
    tail = len(data) % 4
    padded = np.frombuffer(data + bytes((4 - tail) % 4), dtype=">u4").astype(np.uint64)
    digits = (padded[:, None] // _POWERS) % 85
    text = _ALPHABET[digits.astype(np.intp)].tobytes()
    if tail:
        text = text[: len(text) - (4 - tail)]
    return text.decode("ascii")


def _b85decode(text):
    """`base64.b85decode(text)`, vectorized; None where that raises."""
    try:
        codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError:
        return None
    tail = codes.size % 5
    if tail == 1:
        return None
    if tail:
        codes = np.concatenate([codes, np.full(5 - tail, ord("~"), dtype=np.uint8)])
    digits = _DIGITS[codes]
    if np.any(digits == 255):
        return None
    words = digits.reshape(-1, 5).astype(np.uint64) @ _POWERS
    if np.any(words > 0xFFFFFFFF):
        return None
    raw = words.astype(">u4").tobytes()
    return raw[: len(raw) - (5 - tail)] if tail else raw
