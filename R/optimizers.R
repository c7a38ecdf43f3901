#' Arguments shared by the optimizers
#'
#' @param learning_rate A positive number, or any learning-rate schedule (a
#'   `schedule_*()` object, Keras's own or lrschedule's), or an R function of no
#'   arguments returning the rate, passed to Keras as keras3's `optimizer_*()` pass it.
#'   Keras calls such a function when it builds the train step: on TensorFlow and JAX
#'   that is once per compilation of the step (the rate is then fixed until Keras
#'   compiles again), on torch at every step (a call into R each time). Saving a model
#'   stores no rate for it (Keras serializes the function object, which a new session
#'   cannot rebuild): for a rate that changes, and for saved models, give a schedule,
#'   e.g. [schedule_function()] (per step) or [callback_schedule_lr()] (per epoch). A
#'   function of arguments is refused.
#' @param weight_decay A float >= 0, `NULL`, or a schedule evaluated at every update
#'   (the optimizer is then lrschedule's subclass of Keras's). Decoupled weight
#'   decay: Keras shrinks the weights by `lr(t) * weight_decay(t)` at each update, so
#'   a constant weight decay already follows the rate (as PyTorch's AdamW does). A
#'   schedule gives the weight decay a course of its own (e.g. a
#'   [schedule_cosine_decay()]); for a weight decay with the rate's shape, as recipes
#'   that "schedule the weight decay with the rate" mean, see
#'   [schedule_shaped_like()]. [callback_lr_logger()] logs a scheduled weight decay
#'   as `weight_decay` and [lr_current()] reads it. Defaults to `NULL`.
#' @param clipnorm A float > 0 or `NULL`. Clip each gradient to this norm. Defaults to `NULL`.
#' @param clipvalue A float > 0 or `NULL`. Clip each gradient to this value. Defaults to `NULL`.
#' @param global_clipnorm A float > 0 or `NULL`. Clip all gradients to this global norm.
#'   Defaults to `NULL`.
#' @param use_ema Logical. Keep an exponential moving average of the weights.
#'   Defaults to `FALSE`.
#' @param ema_momentum A float between 0 and 1, or a schedule evaluated at every update
#'   (with `use_ema = TRUE`; the optimizer is then lrschedule's subclass of Keras's).
#'   Momentum of that average. Defaults to `0.99`.
#' @param ema_overwrite_frequency Integer >= 1 or `NULL`. Steps between overwrites of the
#'   weights by their average. Defaults to `NULL`.
#' @param loss_scale_factor A float > 0 or `NULL`. Loss scaling factor. Defaults to `NULL`.
#' @param gradient_accumulation_steps Integer >= 2 or `NULL`. Batches over which to
#'   accumulate gradients before an update. A schedule given as `learning_rate` (or
#'   as any other argument) is then counted in updates, as in PyTorch
#'   ([schedule_in_updates()]: update `u` uses the schedule's value at step `u`),
#'   where Keras alone would count batches; wrap it in [schedule_in_micro_batches()]
#'   to keep Keras's counting. Defaults to `NULL`.
#' @name optimizer-arguments
#' @keywords internal
NULL

# The one mechanism behind every optimizer_*(): `env` is the calling wrapper's
# environment (its formals, as the user set them). Any argument the core lists as
# schedulable for this class (lrschedule.optimizers.SCHEDULABLE) may be a schedule:
# then lrschedule's registered subclass of the Keras class is built, else Keras's own.
new_optimizer <- function(class_name, env, call = rlang::caller_env()) {
  args <- as.list(env)
  types <- optimizer_argument_types[[class_name]]
  args$learning_rate <- check_learning_rate(args$learning_rate, call = call)
  core <- lrs()$optimizers
  schedulable <- as.character(unlist(core$SCHEDULABLE[[class_name]]))
  scheduled <- character()
  for (name in names(types)) {
    value <- args[[name]]
    if (is_schedule(value) && (name %in% schedulable || is_numeric_type(types[[name]]))) {
      if (!name %in% schedulable) {
        abort_not_schedulable(class_name, name, value, schedulable, call)
      }
      scheduled <- c(scheduled, name)  # its values are checked by the core
      next
    }
    checker <- switch(types[[name]],
      flag = check_flag, whole = check_whole, number = check_number, string = check_string,
      whole_or_null = check_whole_or_null, number_or_null = check_number_or_null,
      string_or_null = check_string_or_null, strings_or_null = check_strings_or_null
    )
    coerced <- checker(value, arg = name, call = call)
    check_optimizer_range(coerced, name, call, class_name)
    args[name] <- list(coerced)  # keeps NULLs in the list
  }
  # A schedule whose stated values leave the argument's range (a beta_2 reaching 1,
  # Ftrl's rate starting at 0): the core's schedule_problem(), in R's words.
  for (name in c(if (is_schedule(args$learning_rate)) "learning_rate", scheduled)) {
    expected <- core$schedule_problem(name, args[[name]], class_name)
    if (!is.null(expected)) {
      cli::cli_abort(c(
        "{.arg {name}} must be {expected}.",
        "x" = "You supplied {.code {schedule_label(args[[name]])}}."
      ), class = "lrschedule_argument_error", call = call)
    }
  }
  if ("ema_momentum" %in% scheduled && !isTRUE(args$use_ema)) {
    cli::cli_abort(c(
      paste("{.arg ema_momentum} must be a number when {.code use_ema = FALSE}: a schedule",
            "of the moving average's momentum needs {.code use_ema = TRUE}."),
      "x" = paste("You supplied a schedule, {.code {schedule_label(args$ema_momentum)}},",
                  "with {.code use_ema = FALSE}.")
    ), class = "lrschedule_argument_error", call = call)
  }
  # Keras's class, or lrschedule's registered subclass when a hyperparameter is a schedule.
  classes <- if (length(scheduled)) core else keras()$optimizers
  optimizer <- py_call(classes[[class_name]], args, call = call)
  # Under gradient accumulation every schedule (the rate, each scheduled
  # hyperparameter) counts updates (InUpdates), unless it says how it counts; a
  # no-op otherwise.
  lrs()$count_updates(optimizer)
}

is_numeric_type <- function(type) {
  type %in% c("number", "whole", "number_or_null", "whole_or_null")
}

# A schedule given for a number that stays a number: why (the core's NOT_SCHEDULABLE),
# and the arguments of this optimizer that may be schedules.
abort_not_schedulable <- function(class_name, arg, x, schedulable, call) {
  why <- lrs()$optimizers$NOT_SCHEDULABLE[[arg]]
  if (is.null(why)) why <- "not among its hyperparameters that may be schedules"
  fn <- optimizer_r_name(class_name)
  may <- c("learning_rate", schedulable)
  cli::cli_abort(c(
    "{.arg {arg}} must be a number, not a schedule: {why}.",
    "x" = "You supplied a schedule, {.code {schedule_label(x)}}.",
    "i" = "The arguments of {.fn {fn}} that may be schedules: {.arg {may}}."
  ), class = "lrschedule_argument_error", call = call)
}

# A schedule as the core's errors show it: lrschedule's schedules as themselves
# (`Constant(learning_rate=0.1)`), any other by its class (`CosineDecay(...)`, where
# Python's repr would be `<... object at 0x...>`).
schedule_label <- function(x) {
  text <- tryCatch(reticulate::py_repr(x), error = function(e) "<")
  if (startsWith(text, "<")) text <- paste0(schedule_class_name(x), "(...)")
  if (nchar(text) > 80) text <- paste0(substr(text, 1, 77), "...")
  text
}

# The R function of a Keras optimizer class (as tools/generate_optimizers.py names it).
optimizer_r_name <- function(class_name) {
  paste0("optimizer_", if (class_name == "ScheduleFreeAdamW") "schedule_free_adamw"
                       else tolower(class_name))
}

# The ranges of arguments that Keras takes as given although they break training are
# the core's (lrschedule.optimizers.ARGUMENT_RANGES, which Python users get too); the
# error is R's, naming the R argument and value.
check_optimizer_range <- function(x, arg, call, class_name = NULL) {
  if (is.null(x)) return(invisible(x))
  core <- lrs()$optimizers
  expected <- core$argument_problem(arg, x, class_name)
  if (!is.null(expected)) {
    if (arg %in% core$NULLABLE) expected <- paste(expected, "or NULL")
    abort_arg(arg, x, expected, call)
  }
  invisible(x)
}

check_learning_rate <- function(x, arg = "learning_rate", call = rlang::caller_env()) {
  if (is.function(x) && !inherits(x, "python.builtin.object")) {
    # A function of no arguments goes to Keras as keras3's optimizer_*() pass it: Keras
    # calls it for the rate (see the documentation of `learning_rate`).
    if (!is.primitive(x) && length(formals(x)) == 0) return(x)
    cli::cli_abort(c(
      "{.arg {arg}} cannot be an R function of arguments ({.code function({paste(names(formals(x)), collapse = ', ')})}).",
      "i" = "A function of no arguments is passed to Keras, which calls it for the rate.",
      "i" = "For a rate that changes every step, use {.code schedule_function(fn, total_steps)}.",
      "i" = "For a rate that changes every epoch, use {.code callback_schedule_lr(fn)} in {.arg callbacks}."
    ), class = "lrschedule_argument_error", call = call)
  }
  if (inherits(x, "python.builtin.object")) {
    if (is_schedule(x)) return(x)
    if (py_isinstance(x, keras()$callbacks$Callback)) {
      cli::cli_abort(c(
        "{.arg {arg}} cannot be a callback.",
        "i" = "Pass it in {.arg callbacks} of {.fn fit}: {.code fit(..., callbacks = list(cb))}."
      ), class = "lrschedule_argument_error", call = call)
    }
    abort_arg(arg, x, "a positive number or a learning-rate schedule", call)
  }
  if (!is.numeric(x) || length(x) != 1 || is.na(x) || !is.finite(x) || x <= 0) {
    abort_arg(arg, x, "a positive number or a learning-rate schedule", call)
  }
  as.double(x)
}

#' Loss-scale optimizer (mixed precision)
#'
#' Wraps an optimizer in Keras's `keras.optimizers.LossScaleOptimizer`, which scales
#' the loss up before computing gradients (so that float16 gradients do not underflow)
#' and the gradients back down before the update, adjusting the scale as training
#' goes. Keras uses one by itself when a model compiled under the `"mixed_float16"`
#' policy gets a plain optimizer; build it yourself to choose its scale.
#'
#' The learning rate is the inner optimizer's: give that one any schedule.
#' lrschedule's callbacks and [lr_current()] reach the inner optimizer's rate.
#'
#' @param inner_optimizer A Keras optimizer, e.g. from [optimizer_adam()].
#' @param initial_scale A float > 0. The initial loss scale. Defaults to `32768`.
#' @param dynamic_growth_steps Integer >= 1. Steps without a non-finite gradient
#'   after which the scale doubles. Defaults to `2000`.
#' @param name String or `NULL`. The optimizer's name. Defaults to `NULL` (Keras's).
#' @returns The Keras optimizer object (`keras.optimizers.LossScaleOptimizer`), ready
#'   for `compile()`.
#' @family optimizers
#' @seealso <https://keras.io/api/optimizers/loss_scale_optimizer/>
#' @examples
#' if (lrschedule:::python_ready()) {
#'   opt <- optimizer_loss_scale(optimizer_adam(learning_rate = schedule_one_cycle(1e-3, 1000)))
#' }
#' @export
optimizer_loss_scale <- function(inner_optimizer, initial_scale = 32768,
                                 dynamic_growth_steps = 2000L, name = NULL) {
  call <- rlang::current_env()
  check_plain_optimizer(inner_optimizer, "inner_optimizer", call)
  initial_scale <- check_number(initial_scale, call = call)
  if (initial_scale <= 0) abort_arg("initial_scale", initial_scale, "a number > 0", call)
  dynamic_growth_steps <- check_whole(dynamic_growth_steps, call = call)
  if (dynamic_growth_steps < 1) {
    abort_arg("dynamic_growth_steps", dynamic_growth_steps, "a whole number >= 1", call)
  }
  name <- check_string_or_null(name, call = call)
  py_call(keras()$optimizers$LossScaleOptimizer,
          list(inner_optimizer = inner_optimizer, initial_scale = as.double(initial_scale),
               dynamic_growth_steps = as.integer(dynamic_growth_steps), name = name),
          call = call)
}

#' Several optimizers, each for the variables of some layers
#'
#' Builds Keras's `keras.optimizers.MultiOptimizer` (Keras >= 3.15): each trainable
#' variable is updated by the optimizer whose pattern matches its path (a layer's
#' variables have paths `"<layer name>/kernel"`, `"<layer name>/bias"`, ...; the
#' patterns are regular expressions matched against the whole path, so
#' `"dense_1/.*"` takes every variable of layer `dense_1`), and by `default` when no
#' pattern matches. Give each optimizer its own rate or schedule: per-layer learning
#' rates. For one schedule with a factor per layer depth, see [optimizer_per_layer()].
#'
#' lrschedule's callbacks drive every optimizer: [callback_lr_logger()] logs each
#' one's rate as `learning_rate/<name>` (`learning_rate` is `default`'s),
#' [callback_reduce_lr_on_plateau()] reduces them all (or the `groups` named),
#' [callback_schedule_lr()] sets them, [lr_find()] sweeps them together and
#' [lr_current()] reads any of them. Name the optimizers (`name =`) to name their
#' columns; repeated names are made unique (`adam`, `adam_1`).
#'
#' @param default A Keras optimizer (e.g. from [optimizer_adam()]) for every variable
#'   that no pattern matches.
#' @param ... Named arguments: `"pattern" = optimizer`.
#' @param loss_scale_factor A float > 0 or `NULL`, passed to every optimizer.
#'   Defaults to `NULL`.
#' @param name String or `NULL`. The optimizer's name. Defaults to `NULL` (Keras's).
#' @returns The Keras optimizer object (`keras.optimizers.MultiOptimizer`), ready for
#'   `compile()`.
#' @family optimizers
#' @examples
#' if (lrschedule:::python_ready()) {
#'   opt <- optimizer_multi(
#'     optimizer_adam(learning_rate = 1e-3, name = "head"),
#'     "dense/.*" = optimizer_adam(learning_rate = 1e-4, name = "body")
#'   )
#' }
#' @export
optimizer_multi <- function(default, ..., loss_scale_factor = NULL, name = NULL) {
  call <- rlang::current_env()
  check_plain_optimizer(default, "default", call)
  map <- list(...)
  unnamed <- if (is.null(names(map))) seq_along(map) else which(!nzchar(names(map)))
  if (length(unnamed)) {
    cli::cli_abort(c(
      "{.arg ...} must be named arguments: {.code \"pattern\" = optimizer}.",
      "x" = "Argument {unnamed[[1]]} of {.arg ...} has no name (no pattern)."
    ), class = "lrschedule_argument_error", call = call)
  }
  for (pattern in names(map)) {
    check_plain_optimizer(map[[pattern]], sprintf("...[[\"%s\"]]", pattern), call)
    valid <- tryCatch({ reticulate::import("re")$compile(pattern); TRUE },
                      error = function(e) FALSE)
    if (!valid) {
      abort_arg("...", pattern, "named by regular expressions (Python's syntax)", call)
    }
  }
  if (any(duplicated(names(map)))) {
    abort_arg("...", names(map), "each pattern once", call)
  }
  loss_scale_factor <- check_number_or_null(loss_scale_factor, call = call)
  check_optimizer_range(loss_scale_factor, "loss_scale_factor", call)
  name <- check_string_or_null(name, call = call)
  mapping <- py_call(keras()$optimizers$OptimizerMap,
                     list(default_optimizer = default, optimizer_map = reticulate::dict(map)),
                     call = call)
  py_call(keras()$optimizers$MultiOptimizer,
          list(optimizer_map = mapping, loss_scale_factor = loss_scale_factor, name = name),
          call = call)
}

#' Per-layer learning rates: one optimizer, a factor per layer depth
#'
#' Discriminative learning rates, as timm's layer decay and fastai's
#' `slice(lo, hi)` give them: the layers, in groups from input to output, each
#' train with a copy of `optimizer` whose rate is `optimizer`'s rate (a number or
#' any schedule) times the group's factor. With `decay`, the last group has the
#' full rate and each group before it `decay` times its successor's:
#' group `i` of `n` (from 1) gets `decay^(n - i)`. With `factors`, one factor per
#' group (fastai's `slice(lo, hi)` is `factors = exp(seq(log(lo / hi), 0,
#' length.out = n))`). A schedule keeps its shape in every group
#' ([schedule_scaled()]).
#'
#' The copies are named after their groups (the layer's name, `group_<i>` for a
#' vector of layer names, or the list's names): [callback_lr_logger()] logs each as
#' `learning_rate/<name>`, and the callbacks' `groups` take those names. The last
#' group's optimizer is the default one: it also trains every trainable variable
#' in no group, and its rate is the `learning_rate` logged.
#'
#' @param optimizer A Keras optimizer not built yet (e.g. from [optimizer_adamw()]):
#'   the class, arguments and rate that every group copies.
#' @param model The built Keras model it will train (its layers are read).
#' @param decay A number in (0, 1], the factor between successive groups, or `NULL`.
#' @param factors A numeric vector of factors > 0, one per group, or `NULL` (give
#'   `decay` or `factors`).
#' @param groups `NULL` (each layer with trainable weights is a group), or the groups
#'   from input to output: a list (or character vector) whose items are layer names
#'   or character vectors of layer names; named items name their groups.
#' @returns A Keras optimizer (`keras.optimizers.MultiOptimizer`), ready for
#'   `compile()`.
#' @family optimizers
#' @examples
#' if (lrschedule:::python_ready()) {
#'   keras <- reticulate::import("keras")
#'   model <- keras$Sequential(list(keras$Input(shape = list(4L)),
#'                                  keras$layers$Dense(8L), keras$layers$Dense(1L)))
#'   opt <- optimizer_per_layer(
#'     optimizer_adamw(learning_rate = schedule_one_cycle(1e-3, total_steps = 1000)),
#'     model, decay = 0.5)
#'   model$compile(optimizer = opt, loss = "mse")
#' }
#' @export
optimizer_per_layer <- function(optimizer, model, decay = NULL, factors = NULL, groups = NULL) {
  call <- rlang::current_env()
  check_plain_optimizer(optimizer, "optimizer", call)
  if (!inherits(model, "python.builtin.object") || !py_isinstance(model, keras()$Model)) {
    abort_arg("model", model, "a built Keras model", call)
  }
  decay <- check_number_or_null(decay, call = call)
  if (is.null(decay) == is.null(factors)) {
    abort_arg("decay", decay, paste("a number in (0, 1] when `factors` is NULL, and NULL when",
                                    "`factors` is given (one of the two)"), call)
  }
  if (!is.null(factors)) factors <- as.list(check_number_vector(factors, call = call))
  if (!is.null(groups)) {
    if (!is.list(groups) && !is.character(groups)) {
      abort_arg("groups", groups, "NULL, or a list of layer names or character vectors of them",
                call)
    }
    items <- lapply(as.list(groups), function(g) {
      if (!is.character(g) || !length(g) || anyNA(g)) {
        abort_arg("groups", groups, "a list whose items are layer names (character vectors)",
                  call)
      }
      as.list(g)
    })
    groups <- if (!is.null(names(groups)) && all(nzchar(names(groups)))) {
      reticulate::dict(stats::setNames(items, names(groups)))
    } else {
      unname(items)
    }
  }
  py_call(lrs()$per_layer, list(optimizer = optimizer, model = model, decay = decay,
                                factors = factors, groups = groups), call = call)
}

check_plain_optimizer <- function(x, arg, call) {
  if (!inherits(x, "python.builtin.object") || !py_isinstance(x, keras()$optimizers$Optimizer)) {
    abort_arg(arg, x, "a Keras optimizer (e.g. from optimizer_adam())", call)
  }
  invisible(x)
}
