# Recipes from other libraries, reproduced by the Python core (lrschedule.recipes).

#' A schedule from a transformers recipe (`lr_scheduler_type`, `get_scheduler()`)
#'
#' @description
#' The schedule transformers' `get_scheduler(name, ...)` makes, with the rate
#' transformers' `Trainer` uses at every optimizer step from 0 to
#' `num_training_steps` (to float32 rounding), its off-by-ones included. Give it the
#' scheduler's name and arguments as a model card or a paper states them, or a
#' `TrainingArguments`-style list (`learning_rate`, `lr_scheduler_type`,
#' `warmup_ratio`, `warmup_steps`, `lr_scheduler_kwargs`, `max_steps`; the Trainer's
#' defaults for those missing). Past `num_training_steps` the rate holds its final
#' value. What lrschedule cannot reproduce (transformers 5's `"greedy"`) is refused
#' with an error that says which.
#'
#' Steps are optimizer updates: under gradient accumulation build the optimizer with
#' `gradient_accumulation_steps` (lrschedule's `optimizer_*()` count updates).
#'
#' @param name A transformers scheduler name: `"linear"`, `"cosine"`,
#'   `"cosine_with_restarts"`, `"polynomial"`, `"constant"`,
#'   `"constant_with_warmup"`, `"inverse_sqrt"`, `"reduce_lr_on_plateau"`,
#'   `"cosine_with_min_lr"`, `"cosine_warmup_with_min_lr"`,
#'   `"warmup_stable_decay"`; or a named list of `TrainingArguments` fields.
#' @param num_training_steps Integer > 0: the run's optimizer steps (with a list,
#'   unless its `max_steps` gives them).
#' @param num_warmup_steps Integer >= 0 (with a list: from `warmup_steps` or
#'   `warmup_ratio`, as the Trainer computes it).
#' @param learning_rate A float > 0: the optimizer's base rate, which transformers'
#'   schedules multiply (`lr_end` and `min_lr` are absolute rates).
#' @param ... transformers' `scheduler_specific_kwargs` for `name`, by their names
#'   (`num_cycles`, `lr_end`, `power`, `min_lr`, `min_lr_rate`, `warmup_lr_rate`,
#'   `num_decay_steps`, `num_stable_steps`, `warmup_type`, `decay_type`,
#'   `min_lr_ratio`; for `"reduce_lr_on_plateau"`, PyTorch's `ReduceLROnPlateau`
#'   arguments).
#' @returns A schedule (S3 class `lrschedule_schedule`) for an optimizer's
#'   `learning_rate`; for `"reduce_lr_on_plateau"`, a callback
#'   ([callback_reduce_lr_on_plateau()] with PyTorch's patience, cooldown and
#'   threshold rule).
#' @family learning rate schedules
#' @seealso <https://huggingface.co/docs/transformers/main_classes/optimizer_schedules>
#' @examples
#' if (lrschedule:::python_ready()) {
#'   s <- schedule_from_transformers("cosine", num_training_steps = 100,
#'                                   num_warmup_steps = 10, learning_rate = 3e-4)
#'   lr_values(s, c(0, 5, 10, 55, 100))
#'   # a TrainingArguments recipe
#'   schedule_from_transformers(list(learning_rate = 2e-5,
#'                                   lr_scheduler_type = "cosine_with_min_lr",
#'                                   warmup_ratio = 0.03, max_steps = 500,
#'                                   lr_scheduler_kwargs = list(min_lr_rate = 0.1)))
#' }
#' @export
schedule_from_transformers <- function(name, num_training_steps = NULL, num_warmup_steps = NULL,
                                       learning_rate = NULL, ...) {
  call <- rlang::current_env()
  extra <- list(...)
  if (length(extra) && (is.null(names(extra)) || any(!nzchar(names(extra))))) {
    abort_arg("...", extra, "named arguments of the transformers scheduler", call)
  }
  if (is.list(name)) {
    if (is.null(names(name)) && length(name) || any(!nzchar(names(name)))) {
      abort_arg("name", name, "a scheduler name or a named list of TrainingArguments fields",
                call)
    }
    name <- lapply(name, whole_as_integer)
  } else {
    name <- check_string(name)
  }
  args <- c(list(name = name,
                 num_training_steps = check_whole_or_null(num_training_steps),
                 num_warmup_steps = check_whole_or_null(num_warmup_steps),
                 learning_rate = if (is.null(learning_rate)) NULL else check_number(learning_rate)),
            lapply(extra, whole_as_integer))
  out <- py_call(lrs()$from_transformers, args, call = call)
  if (any(grepl("LearningRateSchedule$", class(out)))) out <- as_lr_schedule(out)
  out
}

# Whole numbers go to Python as integers (steps, counts); lists recursively.
whole_as_integer <- function(x) {
  if (is.list(x)) return(lapply(x, whole_as_integer))
  if (is.numeric(x) && length(x) == 1 && !is.na(x) && is.finite(x) && x == round(x) &&
      abs(x) < .Machine$integer.max) {
    return(as.integer(x))
  }
  x
}

#' A schedule from a live PyTorch scheduler (through reticulate)
#'
#' @description
#' The schedule a `torch.optim.lr_scheduler` scheduler (a Python object, e.g. from
#' `reticulate::import("torch")`) follows: the rate at step `t` is the one PyTorch's
#' optimizer has after `t` calls to `scheduler$step()`, to float32 rounding.
#' StepLR, MultiStepLR, ExponentialLR, LinearLR, ConstantLR, CosineAnnealingLR,
#' CosineAnnealingWarmRestarts, PolynomialLR, OneCycleLR, CyclicLR and SequentialLR
#' of those become lrschedule's schedules (OneCycleLR's and CyclicLR's momentum
#' cycle: [schedule_momentum()]); LambdaLR, MultiplicativeLR and ChainedScheduler are
#' tabulated over `horizon` steps; ReduceLROnPlateau becomes
#' [callback_reduce_lr_on_plateau()] with PyTorch's patience, cooldown and threshold
#' rule, continuing from its state. A custom `scale_fn` and parameter groups with
#' different rates are refused, saying why. A run half done in
#' PyTorch continues with the next rates once the Keras optimizer's count is set to
#' the scheduler's `last_epoch`.
#'
#' @param scheduler A PyTorch scheduler (a Python object), with its optimizer.
#' @param horizon Integer > 0: the steps to tabulate a LambdaLR, MultiplicativeLR
#'   or ChainedScheduler over; `NULL` for the others.
#' @returns A schedule (S3 class `lrschedule_schedule`), or for ReduceLROnPlateau a
#'   callback.
#' @family learning rate schedules
#' @seealso <https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate>
#' @examples
#' if (lrschedule:::python_ready() && reticulate::py_module_available("torch")) {
#'   torch <- reticulate::import("torch")
#'   opt <- torch$optim$SGD(list(torch$nn$Parameter(torch$zeros(1L))), lr = 0.1)
#'   s <- schedule_from_torch(torch$optim$lr_scheduler$StepLR(opt, step_size = 3L))
#'   lr_values(s, 0:6)
#' }
#' @export
schedule_from_torch <- function(scheduler, horizon = NULL) {
  call <- rlang::current_env()
  if (!inherits(scheduler, "python.builtin.object")) {
    abort_arg("scheduler", scheduler, "a PyTorch scheduler (a Python object)", call)
  }
  out <- py_call(lrs()$from_torch, list(scheduler, horizon = check_whole_or_null(horizon)),
                 call = call)
  if (any(grepl("LearningRateSchedule$", class(out)))) out <- as_lr_schedule(out)
  out
}

#' A schedule from a timm recipe (`create_scheduler_v2()` settings or train.py's args.yaml)
#'
#' @description
#' The rates timm's scheduler sets at every optimizer update, as timm's train.py steps
#' it, over the epochs timm says the run lasts (cycles, warmup prefix and cooldown
#' included); then the last rate holds. `config` is a named list in either of timm's
#' spellings, each with its own defaults: `create_scheduler_v2()`'s (`sched`,
#' `num_epochs`, `warmup_epochs`, `cycle_mul`, `k_decay`, `step_on_epochs`...) or
#' train.py's arguments as its `args.yaml` holds them (`sched`, `epochs`, `lr`,
#' `lr_cycle_mul`, `lr_k_decay`, `sched_on_updates`...; its other fields are
#' ignored), or the path of such a YAML file (read with the yaml package). timm's
#' `plateau` scheduler (deprecated by timm) and learning-rate noise are refused,
#' saying why.
#'
#' @param config A named list, or the path of an args.yaml file.
#' @param steps_per_epoch Integer > 0: the optimizer updates of an epoch.
#' @param learning_rate A float > 0: the base rate; by default the config's `lr`.
#' @param spelling `NULL`, `"args"` or `"create_scheduler_v2"`: which of timm's
#'   spellings (and defaults) `config` uses; `NULL` tells them from the names.
#' @returns A schedule (S3 class `lrschedule_schedule`).
#' @family learning rate schedules
#' @seealso <https://huggingface.co/docs/timm/reference/schedulers>
#' @examples
#' if (lrschedule:::python_ready()) {
#'   s <- schedule_from_timm(list(sched = "cosine", num_epochs = 10, warmup_epochs = 2,
#'                                min_lr = 1e-5),
#'                           steps_per_epoch = 100, learning_rate = 0.1)
#'   lr_values(s, c(0, 100, 500, 999))
#' }
#' @export
schedule_from_timm <- function(config, steps_per_epoch, learning_rate = NULL, spelling = NULL) {
  call <- rlang::current_env()
  if (is.character(config) && length(config) == 1 && !is.na(config)) {
    if (!requireNamespace("yaml", quietly = TRUE)) {
      abort_arg("config", config, "a named list (reading a YAML file needs the yaml package)",
                call)
    }
    if (!file.exists(config)) abort_arg("config", config, "the path of an existing YAML file", call)
    config <- yaml::read_yaml(config)
  }
  if (!is.list(config) || (length(config) && (is.null(names(config)) ||
                                               any(!nzchar(names(config)))))) {
    abort_arg("config", config, "a named list of timm's scheduler settings, or a YAML file",
              call)
  }
  config <- lapply(config, function(x) {
    if (is.numeric(x) && length(x) > 1) return(as.list(whole_as_integer_vector(x)))
    whole_as_integer(x)
  })
  out <- py_call(lrs()$from_timm, list(
    config, steps_per_epoch = check_whole(steps_per_epoch),
    learning_rate = if (is.null(learning_rate)) NULL else check_number(learning_rate),
    spelling = if (is.null(spelling)) NULL else check_string(spelling)
  ), call = call)
  as_lr_schedule(out)
}

whole_as_integer_vector <- function(x) {
  if (all(is.finite(x)) && all(x == round(x)) && all(abs(x) < .Machine$integer.max)) {
    return(as.integer(x))
  }
  x
}
