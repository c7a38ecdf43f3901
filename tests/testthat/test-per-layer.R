# Per-layer rates (optimizer_multi(), optimizer_per_layer()) and gradient accumulation
# counted in updates, from R. The probe: one-kernel layers reading x = 1, each with a
# mean-absolute-error output aiming at -1000, so each plain-SGD step moves each kernel
# by exactly its rate, read back from the weights. Expectations are the formulas.

probe_model <- function(names = c("low", "mid", "top")) {
  keras <- py_keras()
  inp <- keras$Input(shape = list(1L))
  outs <- lapply(names, function(n) {
    keras$layers$Dense(1L, use_bias = FALSE, kernel_initializer = "zeros", name = n)(inp)
  })
  keras$Model(inp, outs)
}

kernel_of <- function(model, name) {
  value <- model$get_layer(name)$kernel$numpy()
  if (inherits(value, "python.builtin.object")) value <- reticulate::py_to_r(value)
  as.numeric(value)
}

# The rates applied at every batch, by layer: the kernels read before training and
# after every batch (an R callback: the tests also run from the built package, which
# does not carry the Python tests' helpers).
fit_probe <- function(model, epochs, batches = 3L, batch_size = 2L, callbacks = list(),
                      names = c("low", "mid", "top")) {
  kernels <- list()
  read <- function() vapply(names, function(n) kernel_of(model, n), numeric(1))
  trace <- py_keras()$callbacks$LambdaCallback(
    on_train_begin = function(logs) kernels <<- list(read()),
    on_train_batch_end = function(batch, logs) kernels[[length(kernels) + 1]] <<- read())
  n <- batches * batch_size
  x <- matrix(1, n, 1)
  y <- rep(list(matrix(-1000, n, 1)), length(names))
  history <- model$fit(x, y, batch_size = as.integer(batch_size), epochs = as.integer(epochs),
                       shuffle = FALSE, verbose = 0L, callbacks = c(callbacks, list(trace)))
  table <- do.call(rbind, kernels)
  rates <- lapply(stats::setNames(names, names), function(n) -diff(table[, n]))
  list(rates = rates, history = history$history)
}

linear <- function(step, start = 0.02, end = 0.2, total = 12) {
  start + (end - start) * pmin(step, total) / total
}

compile_probe <- function(model, optimizer) {
  model$compile(optimizer = optimizer, loss = rep(list("mean_absolute_error"), 3))
  model
}

test_that("optimizer_per_layer() gives each depth its factor of one schedule", {
  skip_if_no_lrschedule()
  model <- probe_model()
  opt <- optimizer_per_layer(optimizer_sgd(schedule_linear(0.02, 0.2, total_steps = 12)),
                             model, decay = 0.5)
  compile_probe(model, opt)
  run <- fit_probe(model, epochs = 2, callbacks = list(callback_lr_logger()))
  for (i in 1:3) {
    factor <- c(0.25, 0.5, 1)[[i]]
    name <- c("low", "mid", "top")[[i]]
    expect_equal(run$rates[[name]], factor * linear(0:5), tolerance = 1e-4, label = name)
    expect_equal(unlist(run$history[[paste0("learning_rate/", name)]]),
                 factor * linear(c(2, 5)), tolerance = 1e-5)
  }
  expect_equal(unlist(run$history$learning_rate), linear(c(2, 5)), tolerance = 1e-5)
  expect_equal(lr_current(model, "low"), 0.25 * linear(6), tolerance = 1e-5)
})

test_that("optimizer_multi() routes layers by pattern and the plateau reduces the named group", {
  skip_if_no_lrschedule()
  model <- probe_model()
  opt <- optimizer_multi(optimizer_sgd(0.1, name = "head"),
                         "(low|mid)/.*" = optimizer_sgd(0.01, name = "body"))
  compile_probe(model, opt)
  flat <- reticulate::py_run_string(paste(
    "import keras",
    "class Flat(keras.callbacks.Callback):",
    "    def on_epoch_end(self, epoch, logs=None):",
    "        logs['flat'] = 1.0", sep = "\n"))$Flat
  plateau <- callback_reduce_lr_on_plateau("flat", factor = 0.5, patience = 0, mode = "min",
                                           groups = "body")
  run <- fit_probe(model, epochs = 3, callbacks = list(flat(), plateau))
  # Keras's rule: epoch 0 sets the best, epoch 1's end reduces: epoch 2 at half.
  expect_equal(run$rates$low, rep(c(0.01, 0.01, 0.005), each = 3), tolerance = 1e-5)
  expect_equal(run$rates$mid, run$rates$low, tolerance = 1e-6)
  expect_equal(run$rates$top, rep(0.1, 9), tolerance = 1e-5)
  expect_error(optimizer_multi(optimizer_sgd(), "x" = 1), class = "lrschedule_argument_error")
})

test_that("callback_schedule_lr() of (epoch, lr) scales each group's own rate", {
  skip_if_no_lrschedule()
  model <- probe_model()
  compile_probe(model, optimizer_per_layer(optimizer_sgd(0.1), model,
                                           factors = c(0.1, 0.5, 1)))
  run <- fit_probe(model, epochs = 2,
                   callbacks = list(callback_schedule_lr(function(epoch, lr) lr / 2)))
  for (i in 1:3) {
    factor <- c(0.1, 0.5, 1)[[i]]
    expect_equal(run$rates[[i]], rep(0.1 * factor * c(0.5, 0.25), each = 3), tolerance = 1e-5)
  }
})

test_that("gradient_accumulation_steps counts a schedule in updates; micro-batches on request", {
  skip_if_no_lrschedule()
  k <- 4
  s <- schedule_step_decay(0.1, step_size = 1, gamma = 0.5)
  at_updates <- function(rates) {
    moved <- seq_along(rates) %% k == 0
    expect_equal(rates[!moved], rep(0, sum(!moved)), tolerance = 1e-7)
    rates[moved]
  }
  train <- function(optimizer) {
    model <- probe_model("w")
    model$compile(optimizer = optimizer, loss = "mean_absolute_error")
    fit_probe(model, epochs = 1, batches = 4 * k, batch_size = 1, names = "w")$rates$w
  }
  updates <- at_updates(train(optimizer_sgd(s, gradient_accumulation_steps = k)))
  expect_equal(updates, 0.1 * 0.5^(0:3), tolerance = 1e-5)
  # Keras's own counting: update u uses the schedule at batch u * k + k - 1.
  micro <- at_updates(train(optimizer_sgd(schedule_in_micro_batches(s),
                                          gradient_accumulation_steps = k)))
  expect_equal(micro, 0.1 * 0.5^((0:3) * k + k - 1), tolerance = 1e-4)
})

test_that("a per-layer, accumulating model saved in R trains on in a new R session", {
  skip_if_no_lrschedule()
  model <- probe_model()
  opt <- optimizer_per_layer(optimizer_sgd(schedule_linear(0.02, 0.2, total_steps = 12),
                                           gradient_accumulation_steps = 2), model, decay = 0.5)
  compile_probe(model, opt)
  fit_probe(model, epochs = 1, batches = 4, batch_size = 1)
  path <- tempfile(fileext = ".keras")
  model$save(path)
  out <- run_fresh_r(c(
    "library(lrschedule)",
    sprintf("model <- reticulate::import('keras')$models$load_model('%s')", path),
    "x <- matrix(1, 4, 1); y <- rep(list(matrix(-1000, 4, 1)), 3)",
    "before <- sapply(c('low', 'top'), function(n) as.numeric(model$get_layer(n)$kernel$numpy()))",
    "model$fit(x, y, batch_size = 1L, epochs = 1L, shuffle = FALSE, verbose = 0L)",
    "after <- sapply(c('low', 'top'), function(n) as.numeric(model$get_layer(n)$kernel$numpy()))",
    "cat('moved', before - after, '\\n')"
  ), env = paste0("RETICULATE_PYTHON=", reticulate::py_config()$python))
  moved <- numbers_after(out, "moved")
  # Updates 2 and 3 (two batches each), counted in updates: rate linear(u) times the factor.
  expect_equal(moved, c(0.25, 1) * (linear(2) + linear(3)), tolerance = 1e-5)
})
