"""Writes R/optimizers-generated.R: one optimizer_*() per Keras optimizer of DESIGN.md.

Each R function gets the explicit formals (names and defaults) of the installed Keras
optimizer, so documentation and completion work; every body is the same one line into
`new_optimizer()`, the one mechanism that checks and coerces the arguments. Re-run
after a Keras upgrade; tests/testthat/test-optimizers.R checks the formals against
the Keras signatures. The arguments documented as taking a schedule are those of the
core's `lrschedule.optimizers.SCHEDULABLE` (which `new_optimizer()` reads at run time).

    .venv/bin/python tools/generate_optimizers.py
"""

import inspect
import pathlib

import keras

from lrschedule.optimizers import SCHEDULABLE

OPTIMIZERS = ["Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam",
              "Ftrl", "Lion", "Lamb", "Adafactor", "Muon", "ScheduleFreeAdamW"]
# Arguments whose default does not say their type: Muon's ratio defaults to the
# integer 1, its excluded layers (names) to None; its AdamW part's weight decay and its
# RMS matching rate default to numbers but take None (off: the core's NULLABLE).
TYPE_OVERRIDES = {"adam_lr_ratio": "number", "exclude_layers": "strings_or_null",
                  "adam_weight_decay": "number_or_null", "rms_rate": "number_or_null"}
# The momentum PyTorch cycles against the rate (`cycle_momentum`), which the examples
# give schedule_momentum(rate).
CYCLED_MOMENTUM = {"SGD": "momentum", "RMSprop": "momentum", "Adam": "beta_1",
                   "AdamW": "beta_1", "Adamax": "beta_1", "Nadam": "beta_1", "Lamb": "beta_1"}
COMMON = ["weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema", "ema_momentum",
          "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps", "name"]
# The defaults the shared documentation (`optimizer-arguments`, R/optimizers.R) states:
# an optimizer whose default differs documents that argument itself.
COMMON_DEFAULTS = {"weight_decay": None, "clipnorm": None, "clipvalue": None,
                   "global_clipnorm": None, "use_ema": False, "ema_momentum": 0.99,
                   "ema_overwrite_frequency": None, "loss_scale_factor": None,
                   "gradient_accumulation_steps": None}
OUT = pathlib.Path(__file__).resolve().parents[1] / "R" / "optimizers-generated.R"


def r_name(cls):
    # Snake case where the Keras name runs words together.
    return "optimizer_" + {"ScheduleFreeAdamW": "schedule_free_adamw"}.get(cls, cls.lower())


def r_literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, int):
        return f"{value}L" if False else repr(value)
    return repr(float(value))


def arg_type(name, default):
    if name in TYPE_OVERRIDES:
        return TYPE_OVERRIDES[name]
    if isinstance(default, bool):
        return "flag"
    if isinstance(default, int):
        return "whole"
    if isinstance(default, float):
        return "number"
    if isinstance(default, str):
        return "string"
    if name == "name":  # Keras 3.15: None, for the class's own name
        return "string_or_null"
    if name.endswith("_steps") or name.endswith("_frequency"):
        return "whole_or_null"
    return "number_or_null"


TYPE_DOC = {
    "flag": "Logical.",
    "whole": "Integer.",
    "number": "A float.",
    "string": "String.",
    "string_or_null": "String or `NULL`.",
    "strings_or_null": "A character vector or `NULL`.",
    "whole_or_null": "Integer or `NULL`.",
    "number_or_null": "A float or `NULL`.",
}


def schedulable_doc(cls, p, arg_type):
    """The @param lines of an argument that may be a schedule (SCHEDULABLE)."""
    kind = "A float, `NULL`," if arg_type.endswith("_or_null") else "A float"
    text = f"{kind} or a schedule evaluated at every update"
    if CYCLED_MOMENTUM.get(cls) == p.name:
        text += " (e.g. [schedule_momentum()], cycled against the rate as PyTorch does)"
    elif p.name == "weight_decay":
        text += (" (Keras shrinks the weights by `lr(t) * weight_decay(t)` at each update, so a"
                 " constant weight decay already follows the rate; see [schedule_shaped_like()])")
    else:
        text += " (any `schedule_*()` object)"
    text += (f": the optimizer is then lrschedule's subclass of `{cls}`. See the Keras "
             f"documentation of `{cls}`. Defaults to `{r_literal(p.default)}`.")
    return wrap(f"@param {p.name} {text}")


def wrap(text, width=88):
    """Roxygen lines of `text`, continuation lines indented."""
    words, lines, line = text.split(" "), [], "#'"
    for word in words:
        if len(line) + 1 + len(word) > width and line not in ("#'", "#'  "):
            lines.append(line)
            line = "#'  "
        line += " " + word
    lines.append(line)
    return lines


def main():
    lines = [
        "# Generated by tools/generate_optimizers.py from keras " + keras.__version__ + ": do not edit.",
        "# Every body is one call into new_optimizer() (R/optimizers.R).",
        "",
    ]
    types = {}
    for cls in OPTIMIZERS:
        sig = inspect.signature(getattr(keras.optimizers, cls))
        params = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
        types[cls] = {p.name: arg_type(p.name, p.default) for p in params if p.name != "learning_rate"}
        formals = ",\n    ".join(f"{p.name} = {r_literal(p.default)}" for p in params)
        own = [p for p in params if p.name not in COMMON and p.name != "learning_rate"]
        lines += [
            f"#' {cls} optimizer",
            "#'",
            f"#' Builds Keras's `keras.optimizers.{cls}`, with its arguments and defaults.",
            "#' `learning_rate` takes a positive number or any schedule (a `schedule_*()`",
            "#' object, Keras's own or lrschedule's).",
            "#'",
            "#' @inheritParams optimizer-arguments",
        ]
        schedulable = SCHEDULABLE[cls]
        own += [p for p in params if p.name in COMMON_DEFAULTS
                and p.default != COMMON_DEFAULTS[p.name]]
        for p in own:
            if p.name in schedulable:
                lines += schedulable_doc(cls, p, types[cls][p.name])
                continue
            lines.append(f"#' @param {p.name} {TYPE_DOC[types[cls][p.name]]} See the Keras "
                         f"documentation of `{cls}`. Defaults to `{r_literal(p.default)}`.")
        returns = [
            f"#' @returns The Keras optimizer object (`keras.optimizers.{cls}`), or, when an",
            "#'   argument other than `learning_rate` is a schedule, lrschedule's registered",
            f"#'   subclass of it (`lrschedule.optimizers.{cls}`), ready for `compile()`."]
        example = [f"#'   opt <- {r_name(cls)}(learning_rate = schedule_one_cycle(0.01, total_steps = 1000))"]
        momentum = CYCLED_MOMENTUM.get(cls)
        if momentum:
            example = [
                "#'   rate <- schedule_one_cycle(0.01, total_steps = 1000)",
                f"#'   opt <- {r_name(cls)}(learning_rate = rate, {momentum} = schedule_momentum(rate))",
            ]
        if cls == "AdamW":
            example += [
                "#'   # a weight decay on a cosine of its own: 0.05 at step 0, 0 at step 1000",
                "#'   opt <- optimizer_adamw(learning_rate = rate,",
                "#'                          weight_decay = schedule_cosine_decay(0.05, decay_steps = 1000))",
                "#'   # or with the rate's shape: 0.05 where the rate peaks",
                "#'   opt <- optimizer_adamw(learning_rate = rate,",
                "#'                          weight_decay = schedule_shaped_like(rate, 0.05))",
            ]
        lines += [
            f"#' @param name String. The optimizer's name. Defaults to `{r_literal(sig.parameters['name'].default)}`.",
            *returns,
            "#' @family optimizers",
            f"#' @seealso <https://keras.io/api/optimizers/{cls.lower()}/>",
            "#' @examples",
            "#' if (lrschedule:::python_ready()) {",
            *example,
            "#' }",
            "#' @export",
            f"{r_name(cls)} <- function(\n    {formals}) {{",
            f'  new_optimizer("{cls}", environment())',
            "}",
            "",
        ]
    lines.append("optimizer_argument_types <- list(")
    entries = []
    for cls, t in types.items():
        inner = ", ".join(f'{k} = "{v}"' for k, v in t.items())
        entries.append(f"  {cls} = c({inner})")
    lines.append(",\n".join(entries))
    lines.append(")")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
