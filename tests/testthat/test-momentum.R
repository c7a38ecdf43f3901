# Momentum and beta_1 cycled with the rate, from R (issue #19). The expected momenta
# are PyTorch's (the reference table's momentum_* rows, made with OneCycleLR and
# CyclicLR and cycle_momentum = TRUE); the applied momentum is read back from the
# weights of a one-kernel model whose gradient is exactly 1.

scheduled_optimizers <- list(
  sgd = c("SGD", "momentum"), rmsprop = c("RMSprop", "momentum"),
  adam = c("Adam", "beta_1"), adamw = c("AdamW", "beta_1"),
  adamax = c("Adamax", "beta_1"), nadam = c("Nadam", "beta_1"), lamb = c("Lamb", "beta_1")
)

reference_momenta <- function(case) {
  table <- reference_table()
  rows <- table[table$case == case, ]
  list(args = jsonlite_parse(rows$args[[1]]), step = rows$step, value = rows$lr)
}

# The table's args column is JSON; reticulate's json module reads it.
jsonlite_parse <- function(text) reticulate::import("json")$loads(text)


# Trains one sample per step for `steps` steps; the kernel before and after each.
fit_ones <- function(model, steps) {
  kernels <- 0
  trace <- py_keras()$callbacks$LambdaCallback(
    on_train_batch_end = function(batch, logs) {
      kernels <<- c(kernels, model$get_weights()[[1]][1, 1])
    })
  model$fit(matrix(1, steps, 1), matrix(-1000, steps, 1), batch_size = 1L, epochs = 1L,
            shuffle = FALSE, verbose = 0L, callbacks = list(trace))
  kernels
}

test_that("optimizer_*() with a momentum schedule return lrschedule's subclass of Keras's", {
  skip_if_no_lrschedule()
  rate <- schedule_one_cycle(0.01, total_steps = 100)
  builtins <- reticulate::import_builtins()
  for (name in names(scheduled_optimizers)) {
    cls <- scheduled_optimizers[[name]][[1]]
    hyper <- scheduled_optimizers[[name]][[2]]
    args <- list(learning_rate = rate)
    args[[hyper]] <- schedule_momentum(rate)
    opt <- do.call(paste0("optimizer_", name), args)
    expect_true(builtins$isinstance(opt, reticulate::import("lrschedule")$optimizers[[cls]]),
                label = name)
    expect_true(builtins$isinstance(opt, py_keras()$optimizers[[cls]]), label = name)
    # a number: Keras's own class, as before
    args[[hyper]] <- 0.5
    plain <- do.call(paste0("optimizer_", name), args)
    expect_identical(class(plain)[[1]], class(py_keras()$optimizers[[cls]](0.01))[[1]],
                     label = name)
  }
})

test_that("SGD applies PyTorch's momentum, one-cycle and cyclic", {
  skip_if_no_lrschedule()
  for (case in c("momentum_one_cycle_cos", "momentum_cyclic_triangular2")) {
    ref <- reference_momenta(case)
    rate <- build_reference(ref$args$schedule$r_function, ref$args$schedule$args)
    model <- kernel_model_with(optimizer_sgd(learning_rate = rate,
                                             momentum = schedule_momentum(rate)))
    steps <- max(ref$step) + 1
    kernels <- fit_ones(model, steps)
    velocity <- diff(kernels)
    rates <- lr_values(rate, seq_len(steps) - 1)
    # Keras's SGD: v_t = mu_t v_(t-1) - lr_t; the kernel moves by v_t
    applied <- (velocity[-1] + rates[-1]) / velocity[-steps]
    expected <- ref$value[match(seq_len(steps - 1), ref$step)]
    # float32 kernels of magnitude up to ~5 read twice per step: a few 1e-6 each
    expect_lt(max(abs(applied - expected) / expected), 5e-5, label = case)
  }
})

test_that("a model with a momentum schedule saved from R loads in a new R session", {
  skip_if_no_lrschedule()
  rate <- schedule_cyclic(0.001, 0.01, step_size_up = 5)
  model <- kernel_model_with(optimizer_adam(learning_rate = rate,
                                            beta_1 = schedule_momentum(rate)))
  fit_ones(model, 6)
  path <- tempfile(fileext = ".keras")
  model$save(path)
  out <- run_fresh_r(c(
    "library(lrschedule)",
    "keras <- reticulate::import('keras')",
    sprintf("m <- keras$models$load_model('%s', safe_mode = TRUE)", path),
    "cat(class(m$optimizer)[[1]], 'beta_1:', class(m$optimizer$beta_1), '\\n')",
    "cat(m$optimizer$iterations$numpy(), '\\n')"
  ))
  expect_true(any(grepl("^lrschedule.optimizers.Adam beta_1:.*lrschedule.schedules.CycledMomentum",
                        out)), info = paste(out, collapse = "\n"))
  expect_true(any(trimws(out) == "6"), info = paste(out, collapse = "\n"))
})

test_that("callback_lr_logger() logs the momentum used", {
  skip_if_no_lrschedule()
  rate <- schedule_one_cycle(0.01, total_steps = 8)
  model <- kernel_model_with(optimizer_sgd(learning_rate = rate,
                                           momentum = schedule_momentum(rate)))
  logger <- callback_lr_logger(per = "batch")
  history <- model$fit(matrix(1, 8, 1), matrix(-1000, 8, 1), batch_size = 2L, epochs = 2L,
                       shuffle = FALSE, verbose = 0L, callbacks = list(logger))
  expected <- lr_values(schedule_momentum(rate), 0:7)
  expect_equal(unlist(logger$batch_momenta), expected, tolerance = 1e-6)
  expect_equal(unlist(history$history$momentum), expected[c(4, 8)], tolerance = 1e-6)
})
