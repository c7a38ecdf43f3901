"""Reads the shared reference table (tests/testthat/fixtures/reference-rates.csv).

The table is the catalogue of the schedule family (see
tests/reference/make_reference_rates.py, which writes it): every schedule class has
rows naming the class, the R function that builds it and reference rates.
"""

import csv
import json
import pathlib
from collections import OrderedDict

import keras

import lrschedule as lrs

ROOT = pathlib.Path(__file__).resolve().parents[2]
PATH = ROOT / "tests" / "testthat" / "fixtures" / "reference-rates.csv"


def load():
    """{case: (python_class, args, steps, rates, rtol)} in file order."""
    cases = OrderedDict()
    with PATH.open(newline="") as handle:
        for row in csv.DictReader(handle):
            entry = cases.setdefault(
                row["case"], (row["python_class"], json.loads(row["args"]), [], [],
                              float(row["rtol"]))
            )
            entry[2].append(int(row["step"]))
            entry[3].append(float(row["lr"]))
    return cases


def name_pairs():
    """Every (python_class, r_function) pair the table names, nested specs included."""
    pairs = set()

    def walk(value):
        if isinstance(value, dict):
            if "python_class" in value:
                pairs.add((value["python_class"], value["r_function"]))
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    with PATH.open(newline="") as handle:
        for row in csv.DictReader(handle):
            pairs.add((row["python_class"], row["r_function"]))
            walk(json.loads(row["args"]))
    return pairs


def build(python_class, args):
    """Builds the schedule a table row describes, nested specs included."""
    def value(v):
        if isinstance(v, dict) and "python_class" in v:
            return build(v["python_class"], v["args"])
        if isinstance(v, list):
            return [value(x) for x in v]
        return v

    args = {k: value(v) for k, v in args.items()}
    cls = getattr(lrs, python_class, None) or getattr(keras.optimizers.schedules, python_class)
    return cls(**args)
