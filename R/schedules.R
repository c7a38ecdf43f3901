# Learning-rate schedules. Each wrapper: capture -> coerce -> call. Keras's own six build
# Keras's classes; the others build the Python core's. Python checks every value.

new_schedule <- function(constructor, args, call = rlang::caller_env()) {
  as_lr_schedule(py_call(constructor, args, call = call))
}

# Prepends the stable S3 class that print/format/plot/as.data.frame dispatch on.
as_lr_schedule <- function(x) {
  if (!inherits(x, "lrschedule_schedule")) class(x) <- c("lrschedule_schedule", class(x))
  x
}

keras_schedules <- function() keras()$optimizers$schedules

#' Exponential decay (Keras's `ExponentialDecay`)
#'
#' @description
#' ```r
#' lr(step) = initial_learning_rate * decay_rate ^ (step / decay_steps)
#' ```
#' with `step / decay_steps` floored when `staircase = TRUE`.
#'
#' @param initial_learning_rate A float. The rate at step 0.
#' @param decay_steps Integer > 0. Steps over which the rate is multiplied by
#'   `decay_rate`.
#' @param decay_rate A float. The decay factor.
#' @param staircase Logical. Decay at discrete intervals. Defaults to `FALSE`.
#' @returns A Keras `LearningRateSchedule` (S3 class `lrschedule_schedule`), to
#'   pass as `learning_rate` to any optimizer.
#' @family learning rate schedules
#' @seealso <https://keras.io/api/optimizers/learning_rate_schedules/exponential_decay/>
#' @examples
#' if (lrschedule:::python_ready()) {
#'   s <- schedule_exponential_decay(0.1, decay_steps = 100, decay_rate = 0.5)
#'   lr_values(s, c(0, 100, 200))
#' }
#' @export
schedule_exponential_decay <- function(initial_learning_rate, decay_steps, decay_rate,
                                       staircase = FALSE) {
  new_schedule(keras_schedules()$ExponentialDecay, list(
    initial_learning_rate = check_number(initial_learning_rate),
    decay_steps = check_whole(decay_steps),
    decay_rate = check_number(decay_rate),
    staircase = check_flag(staircase)
  ))
}

#' Piecewise constant rates (Keras's `PiecewiseConstantDecay`)
#'
#' @description
#' ```r
#' lr(step) = values[1]   for step <= boundaries[1]
#'            values[i+1] for boundaries[i] < step <= boundaries[i+1]
#'            values[n]   after the last boundary
#' ```
#' @param boundaries Integer vector, strictly increasing. The steps at which the
#'   rate changes.
#' @param values Numeric vector, one longer than `boundaries`. The rates.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @seealso <https://keras.io/api/optimizers/learning_rate_schedules/piecewise_constant_decay/>
#' @examples
#' if (lrschedule:::python_ready()) {
#'   s <- schedule_piecewise_constant(c(100, 200), c(0.1, 0.01, 0.001))
#'   lr_values(s, c(0, 101, 201))
#' }
#' @export
schedule_piecewise_constant <- function(boundaries, values) {
  new_schedule(keras_schedules()$PiecewiseConstantDecay, list(
    boundaries = check_whole_vector(boundaries),
    values = check_number_vector(values)
  ))
}

#' Polynomial decay (Keras's `PolynomialDecay`)
#'
#' @description
#' ```r
#' lr(step) = (initial_learning_rate - end_learning_rate) *
#'            (1 - min(step, decay_steps) / decay_steps) ^ power + end_learning_rate
#' ```
#' With `cycle = TRUE`, `decay_steps` is stretched to the next multiple past `step`.
#' @inheritParams schedule_exponential_decay
#' @param end_learning_rate A float. The final rate. Defaults to `1e-4`.
#' @param power A float. The power of the polynomial. Defaults to `1`.
#' @param cycle Logical. Restart the decay past `decay_steps`. Defaults to `FALSE`.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @seealso <https://keras.io/api/optimizers/learning_rate_schedules/polynomial_decay/>
#' @examples
#' if (lrschedule:::python_ready()) {
#'   lr_values(schedule_polynomial_decay(0.1, decay_steps = 10, power = 2), 0:10)
#' }
#' @export
schedule_polynomial_decay <- function(initial_learning_rate, decay_steps,
                                      end_learning_rate = 1e-4, power = 1, cycle = FALSE) {
  new_schedule(keras_schedules()$PolynomialDecay, list(
    initial_learning_rate = check_number(initial_learning_rate),
    decay_steps = check_whole(decay_steps),
    end_learning_rate = check_number(end_learning_rate),
    power = check_number(power),
    cycle = check_flag(cycle)
  ))
}

#' Inverse time decay (Keras's `InverseTimeDecay`)
#'
#' @description
#' ```r
#' lr(step) = initial_learning_rate / (1 + decay_rate * step / decay_steps)
#' ```
#' with `step / decay_steps` floored when `staircase = TRUE`.
#' @inheritParams schedule_exponential_decay
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @seealso <https://keras.io/api/optimizers/learning_rate_schedules/inverse_time_decay/>
#' @examples
#' if (lrschedule:::python_ready()) {
#'   lr_values(schedule_inverse_time_decay(0.1, decay_steps = 10, decay_rate = 1), c(0, 10, 30))
#' }
#' @export
schedule_inverse_time_decay <- function(initial_learning_rate, decay_steps, decay_rate,
                                        staircase = FALSE) {
  new_schedule(keras_schedules()$InverseTimeDecay, list(
    initial_learning_rate = check_number(initial_learning_rate),
    decay_steps = check_whole(decay_steps),
    decay_rate = check_number(decay_rate),
    staircase = check_flag(staircase)
  ))
}

#' Cosine decay, with an optional linear warmup (Keras's `CosineDecay`)
#'
#' @description
#' Without warmup:
#' ```r
#' lr(step) = initial_learning_rate *
#'            ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)) + alpha)
#' ```
#' With `warmup_target`, the rate first rises linearly from `initial_learning_rate`
#' to `warmup_target` over `warmup_steps`, then decays from `warmup_target`.
#' @inheritParams schedule_exponential_decay
#' @param decay_steps Integer > 0. Steps of the cosine decay.
#' @param alpha A float. The floor, as a fraction of the decayed-from rate.
#'   Defaults to `0`.
#' @param warmup_target A float or `NULL`. The rate reached at the end of warmup;
#'   `NULL` for no warmup. Defaults to `NULL`.
#' @param warmup_steps Integer >= 0. Steps of warmup. Defaults to `0`.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @seealso <https://keras.io/api/optimizers/learning_rate_schedules/cosine_decay/>
#' @examples
#' if (lrschedule:::python_ready()) {
#'   s <- schedule_cosine_decay(0.01, decay_steps = 1000, warmup_steps = 100,
#'                              warmup_target = 0.05)
#'   plot(s, steps = 0:1199)
#' }
#' @export
schedule_cosine_decay <- function(initial_learning_rate, decay_steps, alpha = 0,
                                  warmup_target = NULL, warmup_steps = 0) {
  new_schedule(keras_schedules()$CosineDecay, list(
    initial_learning_rate = check_number(initial_learning_rate),
    decay_steps = check_whole(decay_steps),
    alpha = check_number(alpha),
    warmup_target = check_number_or_null(warmup_target),
    warmup_steps = check_whole(warmup_steps)
  ))
}

#' Cosine decay with warm restarts (Keras's `CosineDecayRestarts`, SGDR)
#'
#' @description
#' Cosine decay over `first_decay_steps`, then restarts: each period is `t_mul`
#' times longer than the previous one and starts `m_mul` times lower.
#' @inheritParams schedule_cosine_decay
#' @param first_decay_steps Integer > 0. Steps of the first period.
#' @param t_mul A float. Period length multiplier. Defaults to `2`.
#' @param m_mul A float. Restart rate multiplier. Defaults to `1`.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @seealso <https://keras.io/api/optimizers/learning_rate_schedules/cosine_decay_restarts/>
#' @examples
#' if (lrschedule:::python_ready()) {
#'   plot(schedule_cosine_restarts(0.01, first_decay_steps = 100), steps = 0:699)
#' }
#' @export
schedule_cosine_restarts <- function(initial_learning_rate, first_decay_steps, t_mul = 2,
                                     m_mul = 1, alpha = 0) {
  new_schedule(keras_schedules()$CosineDecayRestarts, list(
    initial_learning_rate = check_number(initial_learning_rate),
    first_decay_steps = check_whole(first_decay_steps),
    t_mul = check_number(t_mul),
    m_mul = check_number(m_mul),
    alpha = check_number(alpha)
  ))
}

#' A constant learning rate, as a schedule
#'
#' @description
#' ```r
#' lr(step) = learning_rate
#' ```
#' Useful as a piece of [schedule_sequence()] or inside [schedule_warmup()].
#' @param learning_rate A float >= 0. The rate.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @examples
#' if (lrschedule:::python_ready()) lr_values(schedule_constant(0.01), 0:2)
#' @export
schedule_constant <- function(learning_rate) {
  new_schedule(lrs()$Constant, list(learning_rate = check_number(learning_rate)))
}

#' Linear interpolation between two rates, then hold
#'
#' @description
#' ```r
#' lr(step) = initial_learning_rate +
#'            (end_learning_rate - initial_learning_rate) * min(step, total_steps) / total_steps
#' ```
#' The shape of PyTorch's `LinearLR`, with absolute rates instead of factors.
#' @param initial_learning_rate A float >= 0. The rate at step 0.
#' @param end_learning_rate A float >= 0. The rate from `total_steps` on.
#' @param total_steps Integer > 0, or `NULL` to take the run's length from `fit()`
#'   when training starts (then saved with the model). Steps of the ramp.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @seealso <https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.LinearLR.html>
#' @examples
#' if (lrschedule:::python_ready()) lr_values(schedule_linear(0, 0.01, total_steps = 4), 0:5)
#' @export
schedule_linear <- function(initial_learning_rate, end_learning_rate, total_steps = NULL) {
  new_schedule(lrs()$Linear, list(
    initial_learning_rate = check_number(initial_learning_rate),
    end_learning_rate = check_number(end_learning_rate),
    total_steps = check_whole_or_null(total_steps)
  ))
}

#' Step decay (PyTorch's `StepLR`)
#'
#' @description
#' ```r
#' lr(step) = initial_learning_rate * gamma ^ floor(step / step_size)
#' ```
#' @param initial_learning_rate A float > 0. The rate for the first `step_size` steps.
#' @param step_size Integer > 0. Steps between two decays.
#' @param gamma A float > 0. The factor of each decay. Defaults to `0.1`.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @seealso <https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.StepLR.html>
#' @examples
#' if (lrschedule:::python_ready()) lr_values(schedule_step_decay(1, step_size = 2, gamma = 0.5), 0:4)
#' @export
schedule_step_decay <- function(initial_learning_rate, step_size, gamma = 0.1) {
  new_schedule(lrs()$StepDecay, list(
    initial_learning_rate = check_number(initial_learning_rate),
    step_size = check_whole(step_size),
    gamma = check_number(gamma)
  ))
}

#' Decay at milestones (PyTorch's `MultiStepLR`)
#'
#' @description
#' ```r
#' lr(step) = initial_learning_rate * gamma ^ sum(step >= milestones)
#' ```
#' @inheritParams schedule_step_decay
#' @param milestones Integer vector, strictly increasing, >= 1. Steps at which to decay.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @seealso <https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.MultiStepLR.html>
#' @examples
#' if (lrschedule:::python_ready()) lr_values(schedule_multistep_decay(1, c(2, 4)), 0:5)
#' @export
schedule_multistep_decay <- function(initial_learning_rate, milestones, gamma = 0.1) {
  new_schedule(lrs()$MultiStepDecay, list(
    initial_learning_rate = check_number(initial_learning_rate),
    milestones = check_whole_vector(milestones),
    gamma = check_number(gamma)
  ))
}

#' The 1cycle policy (PyTorch's `OneCycleLR`)
#'
#' @description
#' With `initial = max_lr / div_factor` and `min = initial / final_div_factor`, the
#' rate anneals from `initial` up to `max_lr` until step `pct_start * total_steps - 1`,
#' then down to `min` at step `total_steps - 1` (and holds it after). With
#' `three_phase = TRUE` it comes back down to `initial` symmetrically before annealing
#' to `min`. Annealing is cosine,
#' ```r
#' b + (a - b) / 2 * (1 + cos(pi * p))
#' ```
#' or linear, `a + (b - a) * p`, for progress `p` through the phase: step for step
#' what PyTorch's `OneCycleLR` gives.
#' @param max_lr A float > 0. The peak rate.
#' @param total_steps Integer >= 2, or `NULL` to take the run's length from `fit()`
#'   when training starts (then saved with the model; lrschedule's callbacks give
#'   it: have one in the fit, e.g. [callback_lr_logger()]). Length of the cycle in
#'   steps.
#' @param pct_start A float in (0, 1). Fraction of the cycle spent increasing.
#'   Defaults to `0.3`.
#' @param anneal_strategy `"cos"` or `"linear"`. Defaults to `"cos"`.
#' @param div_factor A float > 0. `initial = max_lr / div_factor`. Defaults to `25`.
#' @param final_div_factor A float > 0. `min = initial / final_div_factor`.
#'   Defaults to `1e4`.
#' @param three_phase Logical. Use the three-phase variant. Defaults to `FALSE`.
#' @param base_momentum A number in \[0, 1\]: the momentum at the rate's peak, for
#'   [schedule_momentum()]. Defaults to `0.85` (PyTorch's).
#' @param max_momentum A number in \[0, 1\]: the momentum at the cycle's ends, for
#'   [schedule_momentum()]. Defaults to `0.95` (PyTorch's).
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @seealso <https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.OneCycleLR.html>
#' @examples
#' if (lrschedule:::python_ready()) {
#'   s <- schedule_one_cycle(max_lr = 0.01, total_steps = 1000)
#'   opt <- optimizer_adam(learning_rate = s)
#'   plot(s)
#' }
#' @export
schedule_one_cycle <- function(max_lr, total_steps = NULL, pct_start = 0.3,
                               anneal_strategy = "cos", div_factor = 25, final_div_factor = 1e4,
                               three_phase = FALSE, base_momentum = 0.85,
                               max_momentum = 0.95) {
  new_schedule(lrs()$OneCycle, list(
    max_lr = check_number(max_lr),
    total_steps = check_whole_or_null(total_steps),
    pct_start = check_number(pct_start),
    anneal_strategy = check_string(anneal_strategy),
    div_factor = check_number(div_factor),
    final_div_factor = check_number(final_div_factor),
    three_phase = check_flag(three_phase),
    base_momentum = check_number(base_momentum),
    max_momentum = check_number(max_momentum)
  ))
}

#' Cyclical learning rate (PyTorch's `CyclicLR`)
#'
#' @description
#' Each cycle rises linearly from `base_lr` to the peak over `step_size_up` steps
#' and falls back over `step_size_down` steps:
#' ```r
#' cycle <- floor(step / (up + down)); pos <- step - cycle * (up + down)
#' x     <- if (pos <= up) pos / up else (up + down - pos) / down
#' lr    <- base_lr + (max_lr - base_lr) * x * scale
#' ```
#' where `scale` is 1 (`"triangular"`), `0.5 ^ cycle` (`"triangular2"`) or
#' `gamma ^ step` (`"exp_range"`).
#' @param base_lr A float >= 0. The lower bound.
#' @param max_lr A float >= `base_lr`. The upper bound.
#' @param step_size_up Integer > 0. Steps of the rising half. Defaults to `2000`.
#' @param step_size_down Integer > 0 or `NULL` (same as `step_size_up`). Defaults to `NULL`.
#' @param mode `"triangular"`, `"triangular2"` or `"exp_range"`. Defaults to `"triangular"`.
#' @param gamma A float in (0, 1]. The base of `"exp_range"`. Defaults to `1`.
#' @param base_momentum A number in \[0, 1\]: the momentum at the rate's peaks, for
#'   [schedule_momentum()]. Defaults to `0.8` (PyTorch's).
#' @param max_momentum A number in \[0, 1\]: the momentum where the rate is
#'   `base_lr`, for [schedule_momentum()]. Defaults to `0.9` (PyTorch's).
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @seealso <https://pytorch.org/docs/stable/generated/torch.optim.lr_scheduler.CyclicLR.html>
#' @examples
#' if (lrschedule:::python_ready()) {
#'   plot(schedule_cyclic(1e-4, 1e-2, step_size_up = 50, mode = "triangular2"), steps = 0:399)
#' }
#' @export
schedule_cyclic <- function(base_lr, max_lr, step_size_up = 2000, step_size_down = NULL,
                            mode = "triangular", gamma = 1, base_momentum = 0.8,
                            max_momentum = 0.9) {
  new_schedule(lrs()$Cyclic, list(
    base_lr = check_number(base_lr),
    max_lr = check_number(max_lr),
    step_size_up = check_whole(step_size_up),
    step_size_down = check_whole_or_null(step_size_down),
    mode = check_string(mode),
    gamma = check_number(gamma),
    base_momentum = check_number(base_momentum),
    max_momentum = check_number(max_momentum)
  ))
}

#' Warmup, stable plateau, decay (transformers' `get_wsd_schedule`)
#'
#' @description
#' With `W`, `S`, `D` the warmup, stable and decay steps and `m = min_lr_ratio`,
#' the rate is `learning_rate * factor` where
#' ```r
#' factor = m + (1 - m) * warm(step / W)             # step < W
#'        = 1                                        # W <= step < W + S
#'        = m + (1 - m) * decay((step - W - S) / D)  # W + S <= step < W + S + D
#'        = m                                        # after
#' ```
#' `warm(p)` is `p` (`"linear"`), `(1 - cos(pi p)) / 2` (`"cosine"`) or
#' `1 - sqrt(1 - p)` (`"1-sqrt"`); `decay(p)` is `1 - p`,
#' `(1 + cos(2 pi num_cycles p)) / 2` or `1 - sqrt(p)`.
#' @param learning_rate A float > 0. The peak rate.
#' @param warmup_steps Integer >= 0. Steps of warmup.
#' @param stable_steps Integer >= 0, or `NULL` for a plateau that fills the run: its
#'   length is taken from `fit()` when training starts.
#' @param decay_steps Integer >= 0. Steps of decay; with `stable_steps = NULL` also a
#'   fraction of the run in (0, 1) (`0.1`: the last tenth decays).
#' @param warmup_type `"linear"`, `"cosine"` or `"1-sqrt"`. Defaults to `"linear"`.
#' @param decay_type `"linear"`, `"cosine"` or `"1-sqrt"`. Defaults to `"cosine"`.
#' @param min_lr_ratio A float in \[0, 1\]. The floor, as a fraction of
#'   `learning_rate`. Defaults to `0`.
#' @param num_cycles A float > 0. Cosine cycles of the decay. Defaults to `0.5`.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @seealso <https://huggingface.co/docs/transformers/main_classes/optimizer_schedules>
#' @examples
#' if (lrschedule:::python_ready()) {
#'   plot(schedule_warmup_stable_decay(1e-3, 100, 600, 300), steps = 0:999)
#' }
#' @export
schedule_warmup_stable_decay <- function(learning_rate, warmup_steps, stable_steps = NULL,
                                         decay_steps = NULL, warmup_type = "linear",
                                         decay_type = "cosine", min_lr_ratio = 0,
                                         num_cycles = 0.5) {
  if (is.null(decay_steps)) {
    abort_arg("decay_steps", decay_steps, paste(
      "a whole number >= 0, or (with `stable_steps = NULL`) a fraction of the run in (0, 1)"),
      rlang::current_env())
  }
  fraction <- is.null(stable_steps) && is.numeric(decay_steps) && length(decay_steps) == 1 &&
    !is.na(decay_steps) && decay_steps > 0 && decay_steps < 1
  new_schedule(lrs()$WarmupStableDecay, list(
    learning_rate = check_number(learning_rate),
    warmup_steps = check_whole(warmup_steps),
    stable_steps = check_whole_or_null(stable_steps),
    decay_steps = if (fraction) as.double(decay_steps) else check_whole(decay_steps),
    warmup_type = check_string(warmup_type),
    decay_type = check_string(decay_type),
    min_lr_ratio = check_number(min_lr_ratio),
    num_cycles = check_number(num_cycles)
  ))
}

#' Linear warmup then inverse square-root decay (transformers' `get_inverse_sqrt_schedule`)
#'
#' @description
#' ```r
#' lr(step) = learning_rate * step / warmup_steps                     # step < warmup_steps
#'          = learning_rate * sqrt(timescale / (step - warmup_steps + timescale))
#' ```
#' @param learning_rate A float > 0. The rate at the end of warmup.
#' @param warmup_steps Integer >= 0. Steps of warmup from 0.
#' @param timescale Integer > 0 or `NULL`: `warmup_steps`, or 10000 when that is 0.
#'   Defaults to `NULL`.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @seealso <https://huggingface.co/docs/transformers/main_classes/optimizer_schedules>
#' @examples
#' if (lrschedule:::python_ready()) lr_values(schedule_inverse_sqrt(1e-3, warmup_steps = 4), 0:7)
#' @export
schedule_inverse_sqrt <- function(learning_rate, warmup_steps, timescale = NULL) {
  new_schedule(lrs()$InverseSqrt, list(
    learning_rate = check_number(learning_rate),
    warmup_steps = check_whole(warmup_steps),
    timescale = check_whole_or_null(timescale)
  ))
}

#' A linear warmup in front of any schedule
#'
#' @description
#' For `step < warmup_steps` the rate rises linearly from `start_learning_rate` to
#' the wrapped schedule's first value; from then on it is
#' `schedule(step - warmup_steps)`: the schedule starts at its own step 0.
#' @param schedule Any schedule (a `schedule_*()` object, Keras's or ours).
#' @param warmup_steps Integer >= 0. Steps of warmup.
#' @param start_learning_rate A float >= 0. The rate at step 0. Defaults to `0`.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @examples
#' if (lrschedule:::python_ready()) {
#'   s <- schedule_warmup(schedule_cosine_decay(0.01, decay_steps = 900), warmup_steps = 100)
#'   plot(s, steps = 0:999)
#' }
#' @export
schedule_warmup <- function(schedule, warmup_steps, start_learning_rate = 0) {
  new_schedule(lrs()$Warmup, list(
    schedule = check_schedule(schedule),
    warmup_steps = check_whole(warmup_steps),
    start_learning_rate = check_number(start_learning_rate)
  ))
}

#' Schedules one after another (optax's `join_schedules`)
#'
#' @description
#' `schedules[[i]]` runs from `boundaries[i - 1]` (0 for the first) and sees
#' `step - boundaries[i - 1]`, so each piece starts at its own step 0.
#' @param schedules A list of schedules (a number stands for a constant rate).
#' @param boundaries Integer vector, strictly increasing, one shorter than
#'   `schedules` (may be empty for a single schedule).
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @seealso <https://optax.readthedocs.io/en/latest/api/optimizer_schedules.html>
#' @examples
#' if (lrschedule:::python_ready()) {
#'   s <- schedule_sequence(list(schedule_linear(0, 0.01, 100),
#'                               schedule_cosine_decay(0.01, 900)), boundaries = 100)
#'   plot(s, steps = 0:999)
#' }
#' @export
schedule_sequence <- function(schedules, boundaries) {
  if (!is.list(schedules) || inherits(schedules, "python.builtin.object") || length(schedules) == 0) {
    abort_arg("schedules", schedules, "a non-empty list of schedules", rlang::current_env())
  }
  pieces <- lapply(seq_along(schedules), function(i) {
    piece <- schedules[[i]]
    if (is.numeric(piece)) check_number(piece, arg = sprintf("schedules[[%d]]", i))
    else check_schedule(piece, arg = sprintf("schedules[[%d]]", i))
  })
  boundaries <- if (length(boundaries) == 0) list() else check_whole_vector(boundaries)
  new_schedule(lrs()$Sequence, list(schedules = pieces, boundaries = boundaries))
}

#' Evaluate a schedule at the epoch index instead of the step
#'
#' @description
#' ```r
#' lr(step) = schedule(floor(step / steps_per_epoch))
#' ```
#' A per-epoch schedule that still runs inside the train step: no callback, no R
#' code during training.
#' @param schedule Any schedule, whose "step" is the epoch.
#' @param steps_per_epoch Integer > 0. Optimizer steps per epoch.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @examples
#' if (lrschedule:::python_ready()) {
#'   s <- schedule_per_epoch(schedule_step_decay(0.1, step_size = 10, gamma = 0.5),
#'                           steps_per_epoch = 100)
#'   lr_values(s, c(0, 999, 1000))
#' }
#' @export
schedule_per_epoch <- function(schedule, steps_per_epoch) {
  new_schedule(lrs()$PerEpoch, list(
    schedule = check_schedule(schedule),
    steps_per_epoch = check_whole(steps_per_epoch)
  ))
}

#' Scale a schedule by a constant factor
#'
#' @description
#' ```r
#' lr(step) = factor * schedule(step)
#' ```
#' The shape of `schedule` at another height: what [optimizer_per_layer()] gives
#' each group of layers.
#' @param schedule Any schedule.
#' @param factor A number > 0.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @examples
#' if (lrschedule:::python_ready()) {
#'   s <- schedule_scaled(schedule_one_cycle(0.01, total_steps = 100), factor = 0.1)
#'   lr_values(s, c(0, 30, 99))
#' }
#' @export
schedule_scaled <- function(schedule, factor) {
  new_schedule(lrs()$Scaled, list(
    schedule = check_schedule(schedule),
    factor = check_number(factor)
  ))
}

#' A hyperparameter schedule with the shape of a rate schedule
#'
#' @description
#' ```r
#' hyperparameter(step) = value * schedule(step) / reference_rate
#' ```
#' `value` where the rate is at its reference, in proportion elsewhere: a weight
#' decay (or any other hyperparameter) that follows the rate's warmup and decay.
#' `reference_rate` is the rate's peak (`"peak"`: its largest value over its span,
#' up to its end for a schedule that ends), its value at step 0 (`"initial"`), or a
#' rate you give. The result is a [schedule_scaled()] of `schedule` by
#' `value / reference_rate`, to give an `optimizer_*()` as one of its
#' hyperparameters (`weight_decay = ...`).
#'
#' Keras already multiplies the weight decay by the rate: each update shrinks the
#' weights by `lr(t) * weight_decay(t)`. A constant `weight_decay` therefore already
#' decays with the rate (as PyTorch's AdamW does); `schedule_shaped_like(rate, wd)`
#' makes the shrink `lr(t) * wd * lr(t) / reference_rate`, which is what recipes
#' mean by a weight decay schedule that follows the rate. Do not shape it by the
#' rate twice.
#' @param schedule The rate's schedule (any schedule).
#' @param value A number > 0: the hyperparameter's value at the reference rate.
#' @param reference `"peak"`, `"initial"`, or a number > 0 (the rate that `value`
#'   goes with). Defaults to `"peak"`.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @seealso [optimizer_adamw()] and the other `optimizer_*()`, whose numeric
#'   hyperparameters take schedules.
#' @examples
#' if (lrschedule:::python_ready()) {
#'   rate <- schedule_one_cycle(1e-3, total_steps = 1000)
#'   weight_decay <- schedule_shaped_like(rate, 0.05)
#'   lr_values(weight_decay, c(0, 300, 999))  # 0.05 at the rate's peak (step 300)
#'   opt <- optimizer_adamw(learning_rate = rate, weight_decay = weight_decay)
#' }
#' @export
schedule_shaped_like <- function(schedule, value, reference = "peak") {
  call <- rlang::current_env()
  schedule <- check_schedule(schedule, call = call)
  value <- check_number(value, call = call)
  # a string or a finite number here; the core checks the number is > 0
  is_choice <- is.character(reference) && length(reference) == 1 &&
    reference %in% c("peak", "initial")
  is_rate <- is.numeric(reference) && length(reference) == 1 && is.finite(reference)
  if (!is_choice && !is_rate) {
    abort_arg("reference", reference, '"peak", "initial" or a number > 0', call)
  }
  if (is_rate) reference <- as.double(reference)
  new_schedule(lrs()$shaped_like, list(schedule = schedule, value = value,
                                       reference = reference), call = call)
}

#' Momentum cycled inversely to a one-cycle or cyclical rate (PyTorch's `cycle_momentum`)
#'
#' @description
#' PyTorch's `OneCycleLR` and `CyclicLR` (and fastai's `fit_one_cycle`) cycle the
#' optimizer's momentum against the rate: high where the rate is low, low at its
#' peak. This is that momentum, as a schedule: for [schedule_one_cycle()], from
#' `max_momentum` down to `base_momentum` while the rate rises and back while it
#' falls (three-phase: then held at `max_momentum`), with the rate's annealing; for
#' [schedule_cyclic()], `max_momentum - (max_momentum - base_momentum) * x * scale`.
#' Step for step PyTorch's momentum (or Adam's `beta_1`).
#'
#' Give it as `momentum` of [optimizer_sgd()] or [optimizer_rmsprop()], or as
#' `beta_1` of [optimizer_adam()], [optimizer_adamw()], [optimizer_adamax()],
#' [optimizer_nadam()] or [optimizer_lamb()]: they then return lrschedule's subclass
#' of Keras's optimizer, which evaluates it at every update.
#'
#' @param schedule A [schedule_one_cycle()] (with `total_steps`) or a
#'   [schedule_cyclic()].
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @examples
#' if (lrschedule:::python_ready()) {
#'   rate <- schedule_one_cycle(0.01, total_steps = 100)
#'   momentum <- schedule_momentum(rate)
#'   lr_values(momentum, c(0, 29, 99))  # 0.95, 0.85, 0.95
#'   opt <- optimizer_sgd(learning_rate = rate, momentum = momentum)
#' }
#' @export
schedule_momentum <- function(schedule) {
  new_schedule(lrs()$CycledMomentum, list(schedule = check_schedule(schedule)))
}

#' Count a schedule in optimizer updates under gradient accumulation
#'
#' @description
#' ```r
#' lr(counter) = schedule(floor(counter / gradient_accumulation_steps))
#' ```
#' With `gradient_accumulation_steps = k`, a Keras optimizer updates the weights
#' every `k` batches but evaluates its schedule at its batch counter, so a schedule
#' written in updates (`schedule_one_cycle(total_steps = updates)`, PyTorch's
#' convention) would run `k` times too fast. Wrapped, update `u` (counted from 0)
#' uses `schedule(u)`.
#'
#' `optimizer_*(learning_rate = schedule, gradient_accumulation_steps = k)` wraps
#' the schedule so for you, and lrschedule's callbacks do it (with a warning) when
#' they meet an accumulating optimizer whose schedule is not wrapped. Use
#' [schedule_in_micro_batches()] to keep Keras's counting instead. Like any
#' schedule it takes the counter Keras passes: `lr_values()` and `plot()` of the
#' wrapped schedule are in batches, those of `schedule` in updates.
#' @param schedule Any schedule, whose "step" is the optimizer update.
#' @param gradient_accumulation_steps Integer > 0, the optimizer's.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @examples
#' if (lrschedule:::python_ready()) {
#'   s <- schedule_in_updates(schedule_step_decay(0.1, step_size = 1, gamma = 0.5),
#'                            gradient_accumulation_steps = 4)
#'   lr_values(s, 0:8)
#' }
#' @export
schedule_in_updates <- function(schedule, gradient_accumulation_steps) {
  new_schedule(lrs()$InUpdates, list(
    schedule = check_schedule(schedule),
    gradient_accumulation_steps = check_whole(gradient_accumulation_steps)
  ))
}

#' Keep Keras's micro-batch counting under gradient accumulation
#'
#' @description
#' ```r
#' lr(counter) = schedule(counter)
#' ```
#' The schedule unchanged, marked as written for Keras's batch counter: with it,
#' `optimizer_*(gradient_accumulation_steps = k)` and lrschedule's callbacks leave
#' the schedule counting batches (without it they count updates: see
#' [schedule_in_updates()]).
#' @param schedule Any schedule, whose "step" is the batch (micro-batch).
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @examples
#' if (lrschedule:::python_ready()) {
#'   s <- schedule_in_micro_batches(schedule_step_decay(0.1, step_size = 4, gamma = 0.5))
#'   lr_values(s, 0:8)
#' }
#' @export
schedule_in_micro_batches <- function(schedule) {
  new_schedule(lrs()$InMicroBatches, list(schedule = check_schedule(schedule)))
}

#' Turn an R function of the step into a schedule
#'
#' @description
#' Evaluates `fn` once, on steps `0:(total_steps - 1)`, and builds a table of rates
#' (the Python core's `Tabulated`); the last value holds after `total_steps`. No R
#' code runs during training, so a per-step R schedule costs what any schedule
#' costs. `fn` is first called with the whole vector of steps; if it does not
#' return one rate per step, it is called step by step.
#' @param fn An R function of one argument, the step (counted from 0), returning a
#'   rate (a finite number >= 0).
#' @param total_steps Integer > 0. Steps to tabulate.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @examples
#' if (lrschedule:::python_ready()) {
#'   s <- schedule_function(function(step) 0.01 * 0.5^(step %/% 100), total_steps = 1000)
#'   lr_values(s, c(0, 100, 5000))
#' }
#' @export
schedule_function <- function(fn, total_steps) {
  call <- rlang::current_env()
  # Refused here, before Python starts: what only R can get wrong.
  if (!is.function(fn)) abort_arg("fn", fn, "a function of the step", call)
  check_function_arity(fn, 1, "a function of one argument, the step", arg = "fn", call = call)
  total_steps <- check_whole(total_steps)
  if (total_steps < 1) abort_arg("total_steps", total_steps, "a whole number > 0", call)
  rate_fn <- tabulation_fn(fn, call)
  tryCatch(
    new_schedule(lrs()$Tabulated$from_function, list(rate_fn$fn, total_steps), call = call),
    error = function(e) {
      failure <- rate_fn$failure()
      stop(if (is.null(failure)) e else failure)
    }
  )
}

# `fn` as the core's Tabulated.from_function calls it: first with all the steps (a
# numpy array, which reaches R as a 1-d array), then, if that gives no rate per step,
# with one step at a time. Steps reach `fn` as an R integer vector; rates go back as
# numbers. What the core would refuse with a Python message is refused here in R's
# words, naming the step: `fn` failing, returning something that is not one number
# per step, or a rate that is NA, infinite or < 0. A refusal raised during the core's
# call ends it, and `failure()` gives the R error to signal instead of the core's;
# the core finds a bad rate only once the table is complete, so the first one seen
# is kept until then.
tabulation_fn <- function(fn, call) {
  raised <- NULL
  bad_rate <- NULL
  refuse <- function(cnd) {
    raised <<- cnd
    stop(cnd)
  }
  list(
    fn = function(step) {
      all_steps <- is.array(step)  # a failure then only makes the core go step by step
      step <- as.integer(step)
      raised <<- NULL
      rates <- tryCatch(fn(step), error = function(e) {
        if (all_steps) stop(e)
        refuse(rlang::catch_cnd(cli::cli_abort(
          "{.arg fn} failed at step {step}.", parent = e,
          class = "lrschedule_argument_error", call = call
        )))
      })
      if (!is.numeric(rates) || (!all_steps && length(rates) != 1)) {
        if (all_steps) stop("not one number per step")
        refuse(rlang::catch_cnd(cli::cli_abort(
          c("{.arg fn} must return one number per step.",
            "x" = "At step {step} it returned {.code {fmt_value(rates)}}."),
          class = "lrschedule_argument_error", call = call
        )))
      }
      rates <- as.double(rates)
      bad <- which(is.na(rates) | !is.finite(rates) | rates < 0)
      if (length(bad) > 0 && length(rates) == length(step) && is.null(bad_rate)) {
        bad_step <- step[[bad[[1]]]]
        bad_value <- rates[[bad[[1]]]]
        bad_rate <<- rlang::catch_cnd(cli::cli_abort(
          c("{.arg fn} must return finite rates >= 0.",
            "x" = "At step {bad_step} it returned {.code {bad_value}}."),
          class = "lrschedule_argument_error", call = call
        ))
      }
      # np_array(): one array (an R vector would cross as a list, element by element),
      # 1-d even for one step.
      if (all_steps) reticulate::np_array(rates) else rates
    },
    failure = function() if (is.null(raised)) bad_rate else raised
  )
}

#' Lengthen a schedule that ends, from a step on, without a jump
#'
#' @description
#' ```r
#' lr(step) = schedule(step)                                  for step < at_step
#' lr(step) = schedule(at_step + (step - at_step) * r)        from at_step on
#' r = (end - at_step) / (total_steps - at_step)
#' ```
#' where `end` is the number of steps the schedule is sized for ([lr_horizon()]):
#' the rest of the schedule, from `at_step` to its end, stretched onto `at_step` to
#' `total_steps`. The rate is the old one up to `at_step`, so a run resumed there
#' (e.g. with `BackupAndRestore`) goes on without a jump; it keeps its shape and
#' reaches the old final rate at the new end (old step `end` is new step
#' `total_steps`). Between two steps of the old schedule
#' the rate is interpolated linearly; a schedule that steps
#' ([schedule_multistep_decay()], [schedule_piecewise_constant()]) keeps its steps,
#' its last change moved from `end` to `total_steps`.
#' @param schedule A schedule that ends: [schedule_one_cycle()], [schedule_linear()],
#'   [schedule_warmup_stable_decay()], [schedule_multistep_decay()],
#'   [schedule_function()], a warmup, sequence or per-epoch schedule over one of
#'   those, Keras's cosine, polynomial or piecewise-constant decay. Schedules with
#'   no end are refused.
#' @param at_step Integer >= 0, before the schedule's end: the first step that changes.
#' @param total_steps Integer > `at_step`: the steps the new schedule is sized for.
#' @inherit schedule_exponential_decay return
#' @family learning rate schedules
#' @examples
#' if (lrschedule:::python_ready()) {
#'   planned <- schedule_one_cycle(0.01, total_steps = 1000)   # 10 epochs of 100 steps
#'   longer <- schedule_extend(planned, at_step = 600, total_steps = 1500)  # now 15
#'   lr_values(longer, c(599, 600, 1499))
#'   lr_values(planned, c(599, 600, 999))
#' }
#' @export
schedule_extend <- function(schedule, at_step, total_steps) {
  new_schedule(lrs()$Extended, list(
    schedule = check_schedule(schedule),
    at_step = check_whole(at_step),
    total_steps = check_whole(total_steps)
  ))
}

#' Give a schedule built without its length a length, to look at it
#'
#' A schedule built without its length (`schedule_one_cycle(max_lr)`,
#' `schedule_linear(a, b)`, `schedule_warmup_stable_decay(lr, warmup, decay_steps =
#' 0.1)`) takes the run's from `fit()` when training starts. Before that,
#' `lr_values()` and `plot()` cannot evaluate it: this gives a copy the length it
#' would take from a run of `steps` updates.
#' @param schedule A schedule built without its length (or one wrapping it).
#' @param steps Integer > 0, the updates of the run.
#' @inherit schedule_exponential_decay return
#' @family inspection
#' @examples
#' if (lrschedule:::python_ready()) {
#'   s <- schedule_one_cycle(0.01)          # the length comes from fit()
#'   s
#'   plot(lr_with_length(s, 1000))    # what a run of 1000 updates would use
#' }
#' @export
lr_with_length <- function(schedule, steps) {
  call <- rlang::current_env()
  schedule <- check_schedule(schedule, call = call)
  py_call(lrs()$with_length, list(schedule, check_whole(steps, call = call)), call = call)
}
