# Learning-rate callbacks. The Python core does the work (and checks every value the
# schedule returns); here: arity from the R function's formals, R values turned into
# something the core's check reports sensibly, and R errors that name the epoch.

#' Set the learning rate at the start of every epoch
#'
#' @description
#' At the start of epoch `e` the rate becomes
#' ```r
#' lr = schedule(e)        # a function of (epoch)
#' lr = schedule(e, lr)    # a function of (epoch, lr): lr is the rate of the previous epoch
#' lr = schedule(e)        # a schedule object, evaluated at the epoch index
#' ```
#' and stays for the whole epoch. **Epochs count from 0**, as in Keras: the first
#' epoch of `fit()` is epoch 0 (or `initial_epoch`), so a function written for
#' `epoch = 1, 2, ...` is one epoch early.
#'
#' The arity is read from the R function's formals (reticulate hands an R function
#' to Python as `(*args, **kwargs)`, so Python cannot tell): one formal gives
#' `schedule(epoch)`, two or more give `schedule(epoch, lr)` (at most two may lack
#' a default). A function whose only formal is `...` (such as `function(...) 0.01`)
#' is called with the epoch alone. A Python function is passed on as is, and Python
#' reads its signature.
#'
#' The function runs in R once per epoch, never per step. If the optimizer was
#' compiled with a schedule, the function's value **replaces** it for the rest of
#' training (its values are absolute rates). A [callback_reduce_lr_on_plateau()]
#' used alongside multiplies the function's value; `lr` passed to a function of
#' `(epoch, lr)` is the value before that reduction.
#'
#' The rate used is logged as `learning_rate` in the epoch logs, so the history of
#' `fit()` has it.
#'
#' Errors: an error raised by the function stops `fit()` with the R message, the
#' epoch and the function's name (`"RuntimeError: callback_schedule_lr(): the
#' function failed at epoch 3: ..."`); the R session goes on and the model can be
#' trained again. A value that is not one finite positive number (`NULL`, `NA`,
#' `-1`, `"x"`, `c(1, 2)`) stops `fit()` with an error naming the epoch and the value
#' (as Python shows it: `NULL` is `None`, `NA` is `nan`).
#'
#' @param schedule An R function of `(epoch)` or `(epoch, lr)` returning a
#'   positive number, a Python function, or any learning-rate schedule
#'   (`schedule_*()` or Keras's own), evaluated at the epoch index.
#' @param verbose Integer >= 0. `1` prints the rate set at each epoch.
#'   Defaults to `0`.
#' @param groups `NULL`, or names of the optimizers of an [optimizer_multi()] or
#'   [optimizer_per_layer()] whose rate to set; `NULL` sets every one's. A function
#'   of `(epoch, lr)` is called once per optimizer with its own `lr`, so
#'   `function(epoch, lr) lr * 0.9` keeps per-layer ratios; a function of `(epoch)`
#'   and a schedule give every optimizer the same rate. Defaults to `NULL`.
#' @returns The Python callback (`lrschedule.ScheduleLR`), to pass in
#'   `callbacks` of `fit()`.
#' @family callbacks
#' @seealso Keras's `LearningRateScheduler`, whose semantics this follows:
#'   <https://keras.io/api/callbacks/learning_rate_scheduler/>.
#' @examples
#' if (lrschedule:::python_ready()) {
#'   step_decay <- function(epoch) {
#'     initial_lr <- 0.01
#'     drop <- 0.5
#'     epochs_drop <- 10
#'     initial_lr * drop^(floor(epoch / epochs_drop))
#'   }
#'   keras <- reticulate::import("keras")
#'   model <- keras$Sequential(list(keras$Input(shape = list(1L)), keras$layers$Dense(1L)))
#'   model$compile(optimizer = optimizer_sgd(), loss = "mse")
#'   history <- model$fit(matrix(1:8 / 8), matrix(1:8 / 4), epochs = 3L, verbose = 0L,
#'                        callbacks = list(callback_schedule_lr(step_decay)))
#'   print(unlist(history$history$learning_rate))
#'
#'   # a function of (epoch, lr): halve the rate every epoch from epoch 1 on
#'   halve <- function(epoch, lr) if (epoch < 1) lr else lr / 2
#'   callback_schedule_lr(halve)
#'   # a schedule evaluated at the epoch index
#'   callback_schedule_lr(schedule_step_decay(0.1, step_size = 5, gamma = 0.5))
#' }
#' @export
callback_schedule_lr <- function(schedule, verbose = 0, groups = NULL) {
  call <- rlang::current_env()
  verbose <- check_whole(verbose)
  groups <- check_group_names(groups, call)
  arity <- NULL
  if (inherits(schedule, "python.builtin.object")) {
    if (!is_schedule(schedule) && !reticulate::py_has_attr(schedule, "__call__")) {
      abort_arg("schedule", schedule, schedule_lr_expected, call)
    }
  } else if (is.function(schedule)) {
    arity <- schedule_arity(schedule, call)
    schedule <- r_schedule_for_python(schedule, arity)
  } else {
    abort_arg("schedule", schedule, schedule_lr_expected, call)
  }
  py_call(lrs()$ScheduleLR, list(schedule = schedule, verbose = verbose, arity = arity,
                                 groups = groups), call = call)
}

schedule_lr_expected <- "an R function of (epoch) or (epoch, lr), or a learning-rate schedule"

# 1 for a function of (epoch), 2 for (epoch, lr), from the formals (a function of
# `...` alone takes the epoch).
schedule_arity <- function(fn, call) {
  named <- check_function_arity(fn, 2, "a function of {.code (epoch)} or {.code (epoch, lr)}",
                                arg = "schedule", call = call)
  if (named >= 2) 2L else 1L
}

# The function Python calls: the user's, with an error that names the epoch and values
# converted so that the core's check reports them as the R user wrote them.
r_schedule_for_python <- function(fn, arity) {
  force(fn)
  run <- function(epoch, ...) {
    tryCatch(
      fn(epoch, ...),
      error = function(e) {
        stop(sprintf("callback_schedule_lr(): the function failed at epoch %s: %s",
                     format(epoch), conditionMessage(e)), call. = FALSE)
      }
    )
  }
  if (arity == 1L) {
    function(epoch) rate_for_python(run(epoch))
  } else {
    function(epoch, lr) rate_for_python(run(epoch, lr))
  }
}

# reticulate would turn NA into True and NA_integer_ into -2147483648, and a named or
# longer vector into something else than the R user sees; these keep the value's meaning.
rate_for_python <- function(value) {
  if (is.null(value) || inherits(value, "python.builtin.object")) return(value)
  if (is.factor(value)) return(as.character(value))
  if (is.logical(value) && length(value) > 0 && all(is.na(value))) value <- as.double(value)
  if (is.integer(value)) value <- as.double(value)
  if (is.atomic(value)) {
    value <- unname(as.vector(value))
    if (length(value) != 1) return(as.list(value))
  }
  value
}

#' Reduce the learning rate when a metric stops improving, also over a schedule
#'
#' @description
#' Keras's rule, checked at the end of every epoch: an epoch improves on the best
#' value so far if the monitored value beats it by more than `min_delta`; after
#' `patience` epochs without improvement the rate is multiplied by `factor`, then
#' `cooldown` epochs pass before epochs are counted again. A reduction happens only
#' while the rate is above `min_lr`.
#'
#' Unlike Keras's own callback, it works when the optimizer has a schedule: the
#' reductions multiply whatever drives the rate,
#' ```r
#' lr(step) = max(schedule(step) * multiplier, min(schedule(step), min_lr))
#' ```
#' where `multiplier` is the product of the reductions so far, so the schedule
#' keeps its shape, scaled down. With a constant rate it is a drop-in for keras3's
#' `callback_reduce_lr_on_plateau()`: the optimizer keeps Keras's rate variable and
#' a reduction is Keras's `max(lr * factor, min_lr)`, rounded as Keras rounds.
#'
#' The state (best value, counters, multiplier) is kept across `fit()` calls (Keras
#' resets it) and saved with the optimizer, so `BackupAndRestore` and
#' `load_weights()` resume exactly; a saved `.keras` model keeps it too when the rate
#' is a schedule (with a constant rate it keeps the reduced rate, as Keras's
#' callback does, and the counters start afresh after loading). List this callback
#' before `BackupAndRestore` or `ModelCheckpoint` in `callbacks`, so that their
#' files hold the state after this epoch's update. The rate used (before a
#' reduction made at the epoch's end) is logged as `learning_rate`.
#'
#' @section Smooth reductions (a cooldown on plateau):
#' With `decay_steps = N`, a reduction does not cut the rate at once: from the next
#' update, the rate moves from the rate in force to the reduced rate (`lr * factor`,
#' not below `min_lr`) over `N` updates, along `decay_type`, then stays there. Over a
#' schedule, both ends follow the schedule, which keeps its shape. Keras's rule
#' (`patience`, `min_delta`, `cooldown`) still decides when; a reduction made while
#' one is in progress continues from the rate reached. A small `factor` with
#' `min_lr` as the floor (`factor = 1e-3, min_lr = 1e-5`) makes it the cooldown of a
#' warmup-stable-decay run, started when the metric stalls instead of at a fixed
#' step. The decay is computed inside the compiled train step and is saved and
#' resumed with the rest of the state. With a constant rate, the optimizer gets a
#' `ControlledRate` holding it (Keras's `LearningRateScheduler` can then no longer
#' set that optimizer's rate).
#'
#' @param monitor String. The quantity to monitor. Defaults to `"val_loss"`.
#' @param factor A float, 0 < factor < 1. `new_lr = lr * factor`. Defaults to `0.1`.
#' @param patience Integer >= 0. Epochs without improvement before a reduction.
#'   Defaults to `10`.
#' @param verbose Integer >= 0. `1` prints a message at each reduction.
#'   Defaults to `0`.
#' @param mode String, one of `"auto"`, `"min"`, `"max"`. `"auto"` infers the
#'   direction from the name (losses decrease) or the compiled metric.
#'   Defaults to `"auto"`.
#' @param min_delta A float >= 0. The change that counts as an improvement.
#'   Defaults to `1e-4`.
#' @param cooldown Integer >= 0. Epochs to wait after a reduction before counting
#'   epochs without improvement again. Defaults to `0`.
#' @param min_lr A float >= 0. Lower bound of the rate for reductions.
#'   Defaults to `0`.
#' @param groups `NULL`, or names of the optimizers of an [optimizer_multi()] or
#'   [optimizer_per_layer()] whose rate a reduction multiplies; `NULL` reduces every
#'   one's by `factor`, keeping their ratios. Defaults to `NULL`.
#' @param decay_steps Integer >= 0. `0`: a reduction is a step, as in Keras. `N > 0`:
#'   a reduction is a smooth decay from the rate in force to the reduced rate over
#'   the next `N` optimizer updates (see "Smooth reductions"). Defaults to `0`.
#' @param decay_type String, one of `"linear"`, `"cosine"`, `"1-sqrt"`: the shape of a
#'   smooth reduction (the decays of [schedule_warmup_stable_decay()]).
#'   Defaults to `"linear"`.
#' @param min_delta_mode String, `"abs"` (Keras's rule: better than the best value by
#'   more than `min_delta`) or `"rel"` (PyTorch's default `threshold_mode`: better by
#'   more than `min_delta` times the best value). Defaults to `"abs"`.
#' @returns The Python callback (`lrschedule.ReduceLROnPlateau`), to pass in
#'   `callbacks` of `fit()`.
#' @family callbacks
#' @seealso Keras's `ReduceLROnPlateau`, whose rule this follows:
#'   <https://keras.io/api/callbacks/reduce_lr_on_plateau/>.
#' @examples
#' if (lrschedule:::python_ready()) {
#'   keras <- reticulate::import("keras")
#'   model <- keras$Sequential(list(keras$Input(shape = list(1L)), keras$layers$Dense(1L)))
#'   model$compile(
#'     optimizer = optimizer_sgd(learning_rate = schedule_cosine_decay(0.05, decay_steps = 100)),
#'     loss = "mse"
#'   )
#'   history <- model$fit(matrix(1:8 / 8), matrix(1:8 / 4), epochs = 5L, verbose = 0L,
#'                        callbacks = list(callback_reduce_lr_on_plateau(
#'                          monitor = "loss", factor = 0.5, patience = 1, min_delta = 0.1)))
#'   unlist(history$history$learning_rate)

#'   # a cooldown on plateau: when the loss stalls, decay to 1e-5 over 200 updates
#'   callback_reduce_lr_on_plateau(monitor = "loss", patience = 3, factor = 1e-3,
#'                                 min_lr = 1e-5, decay_steps = 200, decay_type = "1-sqrt")
#' }
#' @export
callback_reduce_lr_on_plateau <- function(monitor = "val_loss", factor = 0.1, patience = 10,
                                          verbose = 0, mode = "auto", min_delta = 1e-4,
                                          cooldown = 0, min_lr = 0, groups = NULL,
                                          decay_steps = 0, decay_type = "linear",
                                          min_delta_mode = "abs") {
  call <- rlang::current_env()
  py_call(lrs()$ReduceLROnPlateau, list(
    monitor = check_string(monitor),
    factor = check_number(factor),
    patience = check_whole(patience),
    verbose = check_whole(verbose),
    mode = check_string(mode),
    min_delta = check_number(min_delta),
    cooldown = check_whole(cooldown),
    min_lr = check_number(min_lr),
    groups = check_group_names(groups, call),
    decay_steps = check_whole(decay_steps),
    decay_type = check_string(decay_type),
    min_delta_mode = check_string(min_delta_mode)
  ), call = call)
}

# NULL, or a list of names (a character vector reaches Python as a list).
check_group_names <- function(groups, call) {
  if (is.null(groups)) return(NULL)
  if (!is.character(groups) || !length(groups) || anyNA(groups) || any(!nzchar(groups))) {
    abort_arg("groups", groups, "NULL or a character vector of optimizer names", call)
  }
  as.list(groups)
}

#' Put the learning rate actually used into the training history
#'
#' @description
#' Whatever drives the rate (a constant, a schedule, [callback_schedule_lr()],
#' [callback_reduce_lr_on_plateau()]'s reductions), the epoch logs get
#' `learning_rate`: the rate used by the epoch's last optimizer step. So the history
#' returned by `fit()` has a `learning_rate` column. The logger does not change the
#' optimizer.
#'
#' With `per = "batch"` the rate of every batch is kept too, in the callback's
#' `batch_rates` (and the optimizer step of each in `batch_steps`), reset when
#' training starts. Per-batch logging costs next to nothing when the rate is a
#' schedule (with or without lrschedule's callbacks): a batch only notes its
#' index, and at the end of the epoch the schedule is evaluated on all of the
#' epoch's steps at once, with the callbacks' state as it stood during the epoch
#' (it changes only between epochs), as [lr_values()] does: equal to the rates
#' used up to float32 rounding. So `batch_rates` grows at each epoch's end. A rate held in a
#' variable (an optimizer with a constant rate, which other code may assign at any
#' batch) is read at every batch.
#'
#' With per-layer rates ([optimizer_multi()], [optimizer_per_layer()]) every
#' optimizer's rate is logged, as `learning_rate/<name>`, and `learning_rate` is the
#' default optimizer's; per batch, `group_batch_rates` holds each one's rates.
#' Under gradient accumulation a batch is a micro-batch: the rate of a batch is the
#' one an update made at that batch uses.
#'
#' Every hyperparameter given to an `optimizer_*()` as a schedule (a weight decay, a
#' momentum, a beta...) is logged beside the rate by its Keras name: the epoch logs
#' get `weight_decay`, `beta_1`, ... (the value the epoch's last update used;
#' `weight_decay/<name>` for each optimizer of an [optimizer_multi()]), and per batch
#' the callback's `batch_hyperparameters` holds each one's values (`batch_momenta`:
#' the `momentum` or `beta_1` among them). [plot()][plot-run] draws each in a panel
#' of its own; [lr_current()] reads the value the next update uses.
#'
#' @param per String, `"epoch"` or `"batch"`. Defaults to `"epoch"`.
#' @returns The Python callback (`lrschedule.LRLogger`), to pass in `callbacks` of
#'   `fit()`.
#' @family callbacks
#' @seealso Keras's `History`: <https://keras.io/api/callbacks/history/>.
#' @examples
#' if (lrschedule:::python_ready()) {
#'   keras <- reticulate::import("keras")
#'   model <- keras$Sequential(list(keras$Input(shape = list(1L)), keras$layers$Dense(1L)))
#'   model$compile(
#'     optimizer = optimizer_sgd(learning_rate = schedule_step_decay(0.1, step_size = 2)),
#'     loss = "mse"
#'   )
#'   logger <- callback_lr_logger(per = "batch")
#'   history <- model$fit(matrix(1:8 / 8), matrix(1:8 / 4), epochs = 2L, batch_size = 4L,
#'                        verbose = 0L, callbacks = list(logger))
#'   print(unlist(history$history$learning_rate))
#'   print(unlist(logger$batch_rates))
#' }
#' @export
callback_lr_logger <- function(per = "epoch") {
  py_call(lrs()$LRLogger, list(per = check_string(per)))
}

#' Warn when a schedule is not sized for the run fit() makes
#'
#' @description
#' For a schedule that ends ([lr_horizon()]: one-cycle, linear, a cosine decay, a
#' table...), compares the steps it is sized for with the updates of the fit,
#' `(epochs - initial_epoch) * steps per epoch` from the optimizer's count (over
#' `gradient_accumulation_steps` when it accumulates), at the first epoch's start,
#' and warns on a mismatch, with the numbers:
#'
#' `OneCycle ends after 1,000 updates, but this fit() makes 1,875 updates (0 to
#' 1,874): 875 of them after its end, at its final rate 4e-07. ...`
#'
#' and the mirror case, a fit that stops before the schedule's end (for a schedule
#' that only steps, such as [schedule_multistep_decay()], only that case).
#' Differences up to 1% of the horizon pass. Schedules with no end and fits whose
#' number of steps per epoch is unknown are not checked.
#'
#' [callback_schedule_lr()], [callback_reduce_lr_on_plateau()] and
#' [callback_lr_logger()] run the same check (once per fit); add this callback to
#' check a fit that uses none of them. The warning is an R warning of class
#' `lrschedule_horizon_warning`, raised while `fit()` runs: handle it with
#' `withCallingHandlers()`, muffle it with `suppressWarnings()`, or turn the check
#' off with `options(lrschedule.horizon_check = FALSE)`. (A `tryCatch()` around
#' `fit()` cannot stop training from inside it: the warning is then printed and
#' training goes on.)
#'
#' @returns The Python callback (`lrschedule.HorizonCheck`), to pass in `callbacks`
#'   of `fit()`.
#' @family callbacks
#' @examples
#' if (lrschedule:::python_ready()) {
#'   keras <- reticulate::import("keras")
#'   model <- keras$Sequential(list(keras$Input(shape = list(1L)), keras$layers$Dense(1L)))
#'   model$compile(optimizer = optimizer_sgd(schedule_one_cycle(0.1, total_steps = 20)),
#'                 loss = "mse")
#'   # 4 epochs of 2 steps: 8 updates, where the schedule is sized for 20
#'   withCallingHandlers(
#'     model$fit(matrix(1:8 / 8), matrix(1:8 / 4), epochs = 4L, batch_size = 4L,
#'               verbose = 0L, callbacks = list(callback_horizon_check())),
#'     lrschedule_horizon_warning = function(w) {
#'       message("horizon: ", conditionMessage(w))
#'       invokeRestart("muffleWarning")
#'     }
#'   )
#' }
#' @export
callback_horizon_check <- function() {
  py_call(lrs()$HorizonCheck, list())
}
