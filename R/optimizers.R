#' Arguments shared by the optimizers
#'
#' @param learning_rate A positive number, or any learning-rate schedule (a
#'   `schedule_*()` object, Keras's own or lrschedule's). An R function is refused:
#'   use [schedule_function()] (per step) or [callback_schedule_lr()] (per epoch).
#' @param weight_decay A float >= 0 or `NULL`. Weight decay. Defaults to `NULL`.
#' @param clipnorm A float > 0 or `NULL`. Clip each gradient to this norm. Defaults to `NULL`.
#' @param clipvalue A float > 0 or `NULL`. Clip each gradient to this value. Defaults to `NULL`.
#' @param global_clipnorm A float > 0 or `NULL`. Clip all gradients to this global norm.
#'   Defaults to `NULL`.
#' @param use_ema Logical. Keep an exponential moving average of the weights.
#'   Defaults to `FALSE`.
#' @param ema_momentum A float between 0 and 1. Momentum of that average. Defaults to `0.99`.
#' @param ema_overwrite_frequency Integer >= 1 or `NULL`. Steps between overwrites of the
#'   weights by their average. Defaults to `NULL`.
#' @param loss_scale_factor A float > 0 or `NULL`. Loss scaling factor. Defaults to `NULL`.
#' @param gradient_accumulation_steps Integer >= 2 or `NULL`. Steps over which to
#'   accumulate gradients before an update. Defaults to `NULL`.
#' @name optimizer-arguments
#' @keywords internal
NULL

# The one mechanism behind every optimizer_*(): `env` is the calling wrapper's
# environment (its formals, as the user set them).
new_optimizer <- function(class_name, env, call = rlang::caller_env()) {
  args <- as.list(env)
  types <- optimizer_argument_types[[class_name]]
  args$learning_rate <- check_learning_rate(args$learning_rate, call = call)
  for (name in names(types)) {
    value <- args[[name]]
    checker <- switch(types[[name]],
      flag = check_flag, whole = check_whole, number = check_number, string = check_string,
      whole_or_null = check_whole_or_null, number_or_null = check_number_or_null,
      string_or_null = check_string_or_null, strings_or_null = check_strings_or_null
    )
    coerced <- checker(value, arg = name, call = call)
    check_optimizer_range(coerced, name, call)
    args[name] <- list(coerced)  # keeps NULLs in the list
  }
  py_call(keras()$optimizers[[class_name]], args, call = call)
}

# Ranges of arguments that Keras takes as given although they break training: a
# negative `clipnorm` flips the gradients, `beta_1 = 1` divides by zero, a negative
# `epsilon` or `initial_accumulator_value` takes square roots of negative numbers,
# `gradient_accumulation_steps = 0` and `ema_overwrite_frequency = 0` silently mean
# "never", and Keras checks `ema_momentum` only with `use_ema = TRUE`. The bounds are
# those PyTorch's optimizers check where it has them, else Keras's own (momentum of
# SGD, ema_momentum), applied whatever the other arguments; Keras's remaining checks
# (Ftrl's strengths, the clipping arguments set together) run after these. By argument
# name: the same meaning in every optimizer that has it.
optimizer_argument_ranges <- list(
  beta_1 = list(ok = function(x) x >= 0 && x < 1, expected = "a number in [0, 1)"),
  beta_2 = list(ok = function(x) x >= 0 && x < 1, expected = "a number in [0, 1)"),
  rho = list(ok = function(x) x >= 0 && x <= 1, expected = "a number in [0, 1]"),
  momentum = list(ok = function(x) x >= 0 && x <= 1, expected = "a number in [0, 1]"),
  epsilon = list(ok = function(x) x >= 0, expected = "a number >= 0"),
  epsilon_1 = list(ok = function(x) x >= 0, expected = "a number >= 0"),
  epsilon_2 = list(ok = function(x) x >= 0, expected = "a number >= 0"),
  initial_accumulator_value = list(ok = function(x) x >= 0, expected = "a number >= 0"),
  weight_decay = list(ok = function(x) x >= 0, expected = "a number >= 0"),
  clipnorm = list(ok = function(x) x > 0, expected = "a number > 0 or NULL"),
  clipvalue = list(ok = function(x) x > 0, expected = "a number > 0 or NULL"),
  global_clipnorm = list(ok = function(x) x > 0, expected = "a number > 0 or NULL"),
  clip_threshold = list(ok = function(x) x > 0, expected = "a number > 0"),
  loss_scale_factor = list(ok = function(x) x > 0, expected = "a number > 0 or NULL"),
  ema_momentum = list(ok = function(x) x >= 0 && x <= 1, expected = "a number in [0, 1]"),
  ema_overwrite_frequency = list(ok = function(x) x >= 1, expected = "a whole number >= 1 or NULL"),
  gradient_accumulation_steps = list(ok = function(x) x >= 2,
                                     expected = "a whole number >= 2 or NULL")
)

check_optimizer_range <- function(x, arg, call) {
  range <- optimizer_argument_ranges[[arg]]
  if (!is.null(x) && !is.null(range) && !range$ok(x)) abort_arg(arg, x, range$expected, call)
}

check_learning_rate <- function(x, arg = "learning_rate", call = rlang::caller_env()) {
  if (is.function(x) && !inherits(x, "python.builtin.object")) {
    cli::cli_abort(c(
      "{.arg {arg}} cannot be an R function.",
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
  if (!inherits(inner_optimizer, "python.builtin.object") ||
      !py_isinstance(inner_optimizer, keras()$optimizers$Optimizer)) {
    abort_arg("inner_optimizer", inner_optimizer,
              "a Keras optimizer (e.g. from optimizer_adam())", call)
  }
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
