# What scheduling costs per training step from R, what inspecting costs, and start-up.
#
#   Rscript bench/bench_r.R [rounds multiplier, default 1]        (make bench runs it)
#
# Not a test: it prints figures. As bench_steps.py does for Python: every variant
# trains the same model in this one process and is warmed up by a first fit; then,
# round after round, each variant runs a short fit paired back to back (alternating
# order) with a fit of the constant-rate model, and its steps/s is divided by its
# partner's. A Python callback that only reads the clock times the steps (per-batch
# callbacks included) apart from per-epoch callback work (+ms/epoch over the
# constant run). Reported: median steps/s and the median of the per-round ratios
# with min-max and interquartile range; "constant (a second model)" shows the noise
# floor of the run.

args <- commandArgs(trailingOnly = TRUE)
# multiplies each model's number of rounds (40 tiny, 12 MLP)
scale <- if (length(args) >= 1) as.numeric(args[[1]]) else 1
began <- Sys.time()

rscript <- file.path(R.home("bin"), "Rscript")

# --- start-up: library() in fresh R processes, interleaved --------------------------
time_library <- function(pkg) {
  code <- sprintf(paste0("t <- system.time(suppressPackageStartupMessages(library(%s)))[['elapsed']];",
                         "cat(t, reticulate::py_available(initialize = FALSE))"), pkg)
  out <- system2(rscript, c("-e", shQuote(code)), stdout = TRUE, stderr = FALSE)
  parts <- strsplit(out[length(out)], " ")[[1]]
  c(seconds = as.numeric(parts[[1]]), python_started = as.logical(parts[[2]]))
}
startup <- list(reticulate = numeric(), lrschedule = numeric())
python_started <- FALSE
for (i in seq_len(5)) {
  for (pkg in c("reticulate", "lrschedule")) {
    r <- time_library(pkg)
    startup[[pkg]] <- c(startup[[pkg]], r[["seconds"]])
    if (pkg == "lrschedule") python_started <- python_started || as.logical(r[["python_started"]])
  }
}

suppressPackageStartupMessages(library(lrschedule))
first <- system.time(first_schedule <- schedule_one_cycle(0.01, total_steps = 1000))[["elapsed"]]

cat(sprintf("# lrschedule %s (R %s, reticulate %s), %d cores\n",
            utils::packageVersion("lrschedule"), getRversion(),
            utils::packageVersion("reticulate"), parallel::detectCores()))
cat("\n## Start-up (median of 5 fresh R processes)\n")
cat(sprintf("library(reticulate)   %.3f s\n", stats::median(startup$reticulate)))
cat(sprintf("library(lrschedule)   %.3f s   (difference %+.3f s; Python started at load: %s)\n",
            stats::median(startup$lrschedule),
            stats::median(startup$lrschedule) - stats::median(startup$reticulate),
            python_started))
cat(sprintf("first schedule_one_cycle() in a session (starts Python, imports Keras): %.2f s\n", first))

keras <- reticulate::import("keras")
np <- reticulate::import("numpy", convert = FALSE)

# --- training step time ---------------------------------------------------------------
# The clock callback of bench_steps.py (passed first and last in the callbacks list;
# times the steps apart from per-epoch work).
script_dir <- dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[1]))
clock_class <- reticulate::import_from_path("bench_steps", path = script_dir)$Clock

step_fn <- function(step) 1e-3 * 0.99999^step
epoch_fn <- function(epoch) 1e-3 * 0.9^epoch

naive_callback <- function(optimizer) {
  # What R users write today: an R function that sets the rate before every batch.
  step <- 0
  keras$callbacks$LambdaCallback(on_train_batch_begin = function(batch, logs) {
    optimizer$learning_rate$assign(step_fn(step))
    step <<- step + 1
  })
}

variants <- list(
  "constant" = function() list(lr = 1e-3, callbacks = list()),
  "constant (a second model)" = function() list(lr = 1e-3, callbacks = list()),
  "keras ExponentialDecay (schedule_exponential_decay)" = function()
    list(lr = schedule_exponential_decay(1e-3, 100, 0.9), callbacks = list()),
  "lrschedule OneCycle" = function() list(lr = schedule_one_cycle(1e-2, 100000), callbacks = list()),
  "lrschedule WarmupStableDecay" = function()
    list(lr = schedule_warmup_stable_decay(1e-3, 100, 1000, 1000, "cosine", "1-sqrt", 0.1),
         callbacks = list()),
  "lrschedule Warmup(CosineDecay)" = function()
    list(lr = schedule_warmup(schedule_cosine_decay(1e-3, 100000), 100), callbacks = list()),
  "R function per step: schedule_function()" = function()
    list(lr = schedule_function(step_fn, total_steps = 100000), callbacks = list()),
  "R function per epoch: callback_schedule_lr()" = function()
    list(lr = 1e-3, callbacks = list(callback_schedule_lr(epoch_fn))),
  "ReduceLROnPlateau over OneCycle" = function()
    list(lr = schedule_one_cycle(1e-2, 100000),
         callbacks = list(callback_reduce_lr_on_plateau(monitor = "loss", patience = 2))),
  "naive per-batch R callback (baseline)" = function() list(lr = 1e-3, callbacks = NULL)
)
naive_name <- "naive per-batch R callback (baseline)"
tabulated_name <- "R function per step: schedule_function()"

models <- list(
  "tiny: Dense(1) on 4 features, batch 32" =
    list(inputs = 4L, hidden = integer(), outputs = 1L, batch = 32L, steps = 40L, rounds = 40),
  "MLP 32-256-256-10, batch 64" =
    list(inputs = 32L, hidden = c(256L, 256L), outputs = 10L, batch = 64L, steps = 40L, rounds = 12)
)

build <- function(spec, lr) {
  layers <- list(keras$Input(shape = list(spec$inputs)))
  for (h in spec$hidden) layers <- c(layers, keras$layers$Dense(h, activation = "relu"))
  layers <- c(layers, keras$layers$Dense(spec$outputs))
  model <- keras$Sequential(layers)
  model$compile(optimizer = optimizer_adam(learning_rate = lr), loss = "mse")
  model
}

quartiles <- function(x) stats::quantile(x, c(0.25, 0.75), names = FALSE, type = 6)

for (label in names(models)) {
  spec <- models[[label]]
  n <- spec$steps * spec$batch
  set.seed(1)
  x <- np$asarray(matrix(rnorm(n * spec$inputs), n), dtype = "float32")
  y <- np$asarray(matrix(rnorm(n * spec$outputs), n), dtype = "float32")
  runs <- lapply(variants, function(make) {
    v <- make()
    model <- build(spec, v$lr)
    callbacks <- if (is.null(v$callbacks)) list(naive_callback(model$optimizer)) else v$callbacks
    model$fit(x, y, batch_size = spec$batch, epochs = 1L, verbose = 0L, callbacks = callbacks)
    list(model = model, callbacks = callbacks)
  })
  timed_fit <- function(name) {
    run <- runs[[name]]
    clock <- clock_class()
    run$model$fit(x, y, batch_size = spec$batch, epochs = 1L, verbose = 0L,
                  callbacks = c(list(clock), run$callbacks, list(clock)), shuffle = FALSE)
    c(speed = spec$steps / clock$steps_seconds, epoch = clock$epoch_seconds)
  }
  rounds <- max(2L, as.integer(round(spec$rounds * scale)))
  others <- setdiff(names(runs), "constant")
  speed <- lapply(runs, function(r) numeric())
  ratio <- lapply(runs, function(r) numeric())
  epoch_ms <- lapply(runs, function(r) numeric())
  for (r in seq_len(rounds)) {
    shift <- (r - 1) %% length(others)
    order <- others[c(seq_along(others)[-seq_len(shift)], seq_len(shift))]
    for (name in order) {
      pair <- if (r %% 2 == 1) c("constant", name) else c(name, "constant")
      measured <- lapply(stats::setNames(pair, pair), timed_fit)
      v <- measured[[name]]
      k <- measured[["constant"]]
      speed[[name]] <- c(speed[[name]], v[["speed"]])
      speed[["constant"]] <- c(speed[["constant"]], k[["speed"]])
      ratio[[name]] <- c(ratio[[name]], v[["speed"]] / k[["speed"]])
      epoch_ms[[name]] <- c(epoch_ms[[name]], 1000 * (v[["epoch"]] - k[["epoch"]]))
    }
  }
  ratio[["constant"]] <- 1
  epoch_ms[["constant"]] <- 0
  cat(sprintf("\n## Training step time, R — %s; %d rounds, fits of %d steps paired with constant\n",
              label, rounds, spec$steps))
  cat(sprintf("%-52s %8s %18s %13s %12s %10s\n", "variant", "steps/s", "ratio vs constant",
              "(min-max)", "IQR", "+ms/epoch"))
  for (name in names(runs)) {
    q <- quartiles(ratio[[name]])
    cat(sprintf("%-52s %8.0f %18.3f (%.3f-%.3f) %.3f-%.3f %10.1f\n", name,
                stats::median(speed[[name]]), stats::median(ratio[[name]]), min(ratio[[name]]),
                max(ratio[[name]]), q[[1]], q[[2]], stats::median(epoch_ms[[name]])))
  }
  # Both were measured against a constant partner in every round: the quotient of their
  # ratios compares them at the same moment of the run.
  versus <- ratio[[tabulated_name]] / ratio[[naive_name]]
  q <- quartiles(versus)
  cat(sprintf("schedule_function() vs naive per-batch R callback: %.2fx (min-max %.2f-%.2f, IQR %.2f-%.2f)\n",
              stats::median(versus), min(versus), max(versus), q[[1]], q[[2]]))
}

# --- inspection from R ------------------------------------------------------------------
cat("\n## Inspection from R: lr_values() of 1,000,000 steps vs one call per step\n")
cat(sprintf("%-36s %12s %12s %14s\n", "schedule", "lr_values ms", "per call ms", "loop of 1e6 s"))
inspect <- list(
  one_cycle = schedule_one_cycle(0.01, 1e6),
  cosine_decay_warmup = schedule_cosine_decay(0, 1e6, warmup_target = 0.01, warmup_steps = 1000),
  warmup_stable_decay = schedule_warmup_stable_decay(0.01, 1000, 5e5, 4e5),
  exponential_decay = schedule_exponential_decay(0.01, 1000, 0.9)
)
for (name in names(inspect)) {
  s <- inspect[[name]]
  lr_values(s, 0:9)
  vec <- min(replicate(3, system.time(lr_values(s, 0:999999))[["elapsed"]]))
  picks <- round(seq(0, 1e6 - 1, length.out = 100))
  per <- system.time(for (p in picks) s(as.integer(p)))[["elapsed"]] / length(picks)
  cat(sprintf("%-36s %12.1f %12.3f %14.0f\n", name, vec * 1000, per * 1000, per * 1e6))
}
cat(sprintf("\n(R benchmark: %.0f s)\n", as.numeric(difftime(Sys.time(), began, units = "secs"))))
