# lr_find(): the sweep and smoothing against their formulas, the suggestions against
# fastai's rules recomputed here, exact restoration of the model, and the R methods.

linear_data <- function(n = 64) {
  set.seed(42)
  x <- matrix(stats::rnorm(2 * n), ncol = 2)
  list(x = x, y = x %*% c(2, -1) + 0.5)
}

linear_model <- function(optimizer = optimizer_adam()) {
  keras <- py_keras()
  keras$utils$set_random_seed(1L)
  model <- keras$Sequential(list(keras$Input(shape = list(2L)), keras$layers$Dense(1L)))
  model$compile(optimizer = optimizer, loss = "mse")
  model
}

optimizer_state <- function(model) {
  lapply(model$optimizer$variables, function(v) v$numpy())
}

test_that("lr_find has the arguments and defaults of the core's find_lr", {
  skip_if_no_lrschedule()
  inspect <- reticulate::import("inspect")
  params <- inspect$signature(reticulate::import("lrschedule")$find_lr)$parameters
  py_names <- names(reticulate::import_builtins()$dict(params))
  expect_identical(names(formals(lr_find)), py_names)
  for (arg in setdiff(py_names, c("model", "x"))) {
    default <- params[[arg]]$default
    r_default <- eval(formals(lr_find)[[arg]])
    if (is.null(default)) expect_null(r_default, label = arg)
    else expect_equal(r_default, default, label = arg)
  }
})

test_that("lr_find sweeps, smooths and suggests by the rules, and restores the model bit for bit", {
  skip_if_no_lrschedule()
  data <- linear_data()
  model <- linear_model()
  model$fit(data$x, data$y, epochs = 1L, batch_size = 16L, verbose = 0L)  # non-zero Adam slots
  weights <- model$get_weights()
  state <- optimizer_state(model)
  rate_before <- model$optimizer$learning_rate$numpy()

  finder <- lr_find(model, data$x, data$y, start_lr = 1e-4, end_lr = 10, num_steps = 30,
                    batch_size = 16, diverge_factor = NULL, seed = 3, verbose = 0)
  expect_s3_class(finder, "lrschedule_lr_find")
  expect_identical(model$get_weights(), weights)
  expect_identical(optimizer_state(model), state)
  expect_identical(model$optimizer$learning_rate$numpy(), rate_before)

  n <- 30
  expect_equal(finder$learning_rate, 1e-4 * (10 / 1e-4)^((0:(n - 1)) / (n - 1)), tolerance = 1e-12)
  expect_false(finder$diverged)
  expect_length(finder$loss, n)
  expect_true(all(is.finite(finder$loss) & finder$loss > 0))
  average <- 0
  smoothed <- numeric(n)
  for (i in seq_len(n)) {
    average <- 0.98 * average + 0.02 * finder$loss[[i]]
    smoothed[[i]] <- average / (1 - 0.98^i)
  }
  expect_equal(finder$smoothed_loss, smoothed, tolerance = 1e-12)

  # fastai's rules on the window without the first n %/% 10 and the last 5 points
  window <- (n %/% 10 + 1):(n - 5)
  rates <- finder$learning_rate[window]
  losses <- finder$smoothed_loss[window]
  expect_named(finder$suggestions, c("steep", "minimum", "valley"))
  expect_equal(finder$suggestions[["steep"]],
               rates[[which.min(diff(losses) / diff(log(rates)))]], tolerance = 1e-12)
  expect_equal(finder$suggestions[["minimum"]], rates[[which.min(losses)]] / 10, tolerance = 1e-12)
  expect_true(finder$suggestions[["valley"]] %in% rates)
  expect_true(all(finder$suggestions >= 1e-4 / 10 & finder$suggestions <= 10))
  expect_identical(finder$suggestions, unlist(finder$python$suggestions)[c("steep", "minimum", "valley")])
})

test_that("lr_find stops when the smoothed loss diverges", {
  skip_if_no_lrschedule()
  data <- linear_data()
  model <- linear_model(optimizer_sgd())
  weights <- model$get_weights()
  finder <- lr_find(model, data$x, data$y, start_lr = 1e-3, end_lr = 1e3, num_steps = 60,
                    batch_size = 16, seed = 1, verbose = 0)
  expect_identical(model$get_weights(), weights)
  expect_true(finder$diverged)
  n <- length(finder$loss)
  expect_lt(n, 60)
  best <- cummin(finder$smoothed_loss)
  # the rule: stop at the first step whose smoothed loss exceeds 4 times the best so far
  over <- !is.finite(finder$loss) | finder$smoothed_loss > 4 * best
  expect_identical(which(over), n)
  expect_match(format(finder)[[1]], sprintf("%d of 60 steps.*diverged", n))
})

test_that("print, plot and as.data.frame show the test and its suggestions", {
  skip_if_no_lrschedule()
  data <- linear_data()
  model <- linear_model(optimizer_sgd())
  finder <- lr_find(model, data$x, data$y, start_lr = 1e-4, end_lr = 0.1, num_steps = 25,
                    batch_size = 16, diverge_factor = NULL, seed = 1, verbose = 0)
  out <- capture.output(returned <- print(finder))
  expect_identical(returned, finder)
  expect_match(out[[1]], "^<lr_find> 25 of 25 steps, learning rate 1e-04 to 0.1$")
  for (name in c("steep", "minimum", "valley")) {
    expect_match(out, sprintf("^  %-8s %s$", name,
                              formatC(finder$suggestions[[name]], format = "e", digits = 2)),
                 all = FALSE)
  }

  df <- as.data.frame(finder)
  expect_identical(names(df), c("step", "learning_rate", "loss", "smoothed_loss"))
  expect_identical(df$step, 0:24)
  expect_identical(df$smoothed_loss, finder$smoothed_loss)

  path <- tempfile(fileext = ".png")
  grDevices::png(path, width = 600, height = 400)
  expect_identical(plot(finder), finder)
  plot(finder, skip_end = 0, suggestions = FALSE)
  grDevices::dev.off()
  expect_gt(file.size(path), 1000)
  expect_identical(readBin(path, "raw", 4), as.raw(c(0x89, 0x50, 0x4e, 0x47)))
  expect_error(plot(finder, skip_end = 1.5), "`skip_end`", class = "lrschedule_argument_error")
  unlink(path)
})

test_that("R data reach Keras as float32 arrays; arguments are coerced and checked", {
  skip_if_no_lrschedule()
  data <- linear_data(32)
  model <- linear_model(optimizer_sgd())
  # integer matrix, data frame, plain vector of targets
  x_int <- matrix(as.integer(round(data$x * 10)), ncol = 2)
  finder <- lr_find(model, x_int, as.vector(data$y), end_lr = 1e-3, num_steps = 12, batch_size = 8,
                    diverge_factor = NULL, verbose = 0)
  expect_length(finder$loss, 12)
  expect_true(all(is.finite(finder$loss)))
  finder <- lr_find(model, as.data.frame(data$x), data$y, end_lr = 0.1, num_steps = 12,
                    batch_size = 8, diverge_factor = NULL, sample_weight = rep(1, 32), seed = 1,
                    verbose = 0)
  expect_length(finder$loss, 12)
  expect_true(all(is.finite(finder$loss)))

  # sparse labels given as R integers, with a softmax model
  keras <- py_keras()
  classifier <- keras$Sequential(list(keras$Input(shape = list(2L)),
                                      keras$layers$Dense(3L, activation = "softmax")))
  classifier$compile(optimizer = optimizer_sgd(), loss = "sparse_categorical_crossentropy")
  labels <- as.integer(data$x[, 1] > 0) + as.integer(data$x[, 2] > 0)
  finder <- lr_find(classifier, data$x, labels, end_lr = 1, num_steps = 10, batch_size = 8,
                    diverge_factor = NULL, seed = 1, verbose = 0)
  expect_length(finder$loss, 10)
  expect_true(all(is.finite(finder$loss)))

  # with y = NULL: an R list of batches list(x, y), used in order; the first step's loss is
  # the loss of the untouched model on the first batch
  batches <- lapply(0:3, function(i) list(data$x[i * 8 + 1:8, ], data$y[i * 8 + 1:8, , drop = FALSE]))
  weights <- model$get_weights()
  first <- batches[[1]]
  expected_loss <- mean((first[[1]] %*% weights[[1]] + weights[[2]][[1]] - first[[2]])^2)
  finder <- lr_find(model, batches, num_steps = 10, verbose = 0)
  expect_equal(finder$loss[[1]], expected_loss, tolerance = 1e-5)
  expect_identical(model$get_weights(), weights)

  expect_error(lr_find(model, data$x, data$y, num_steps = 20.5), "`num_steps`",
               class = "lrschedule_argument_error")
  expect_error(lr_find(model, data$x, data$y, start_lr = "small"), "`start_lr`",
               class = "lrschedule_argument_error")
  expect_error(lr_find(model, data$x, data$y, shuffle = NA), "`shuffle`",
               class = "lrschedule_argument_error")
  expect_error(lr_find(model, list("a"), data$y), "`x`", class = "lrschedule_argument_error")
  expect_error(lr_find(model, data$x, c(1, NA)), "`y`", class = "lrschedule_argument_error")
  expect_error(lr_find("model", data$x, data$y), "`model`", class = "lrschedule_argument_error")
  expect_error(lr_find(model, data$x, data$y, start_lr = 1, end_lr = 0.1), "end_lr",
               class = "python.builtin.ValueError")
  expect_error(lr_find(model, data$x, data$y[1:5]), "as many samples",
               class = "python.builtin.ValueError")
  uncompiled <- keras$Sequential(list(keras$Input(shape = list(2L)), keras$layers$Dense(1L)))
  expect_error(lr_find(uncompiled, data$x, data$y), "`model` must be a compiled",
               class = "lrschedule_argument_error")
})

test_that("a test too short for suggestions prints and plots them as NA", {
  skip_if_no_lrschedule()
  # what find_lr returns when the loss is not finite at the second step
  result <- reticulate::import("lrschedule.lr_finder")$LRFinderResult(
    rates = list(1e-3, 2e-3), losses = list(1, Inf), smoothed_losses = list(1, Inf),
    diverged = TRUE, num_steps = 50L, skip_start = 5L, skip_end = 5L
  )
  finder <- lrschedule:::new_lr_find(result)
  expect_identical(finder$suggestions, c(steep = NA_real_, minimum = NA_real_, valley = NA_real_))
  expect_identical(format(finder), c(
    "<lr_find> 2 of 50 steps, learning rate 0.001 to 0.002 (stopped: the loss diverged)",
    "Suggested learning rates:",
    "  steep    NA (too few steps)",
    "  minimum  NA (too few steps)",
    "  valley   NA (too few steps)"
  ))
  grDevices::pdf(NULL)
  expect_identical(plot(finder), finder)
  grDevices::dev.off()
  expect_identical(as.data.frame(finder)$step, 0:1)
})

test_that("lr_find()'s progress in Rscript's output is plain lines, no escape codes", {
  skip_if_no_lrschedule()
  out <- run_fresh_r(c(
    "library(lrschedule)",
    "keras <- reticulate::import('keras')",
    "model <- keras$Sequential(list(keras$Input(shape = list(1L)), keras$layers$Dense(1L)))",
    "model$compile(optimizer = optimizer_sgd(), loss = 'mse')",
    "x <- matrix(seq(0, 1, length.out = 64)); y <- 2 * x",
    "invisible(lr_find(model, x, y, num_steps = 20, batch_size = 4, diverge_factor = NULL))",
    "cat('done\\n')"
  ))
  progress <- grep("^find_lr step", out, value = TRUE)
  expect_identical(sub(":.*", "", progress),
                   paste0("find_lr step ", c(1, seq(2, 20, by = 2)), "/20"))
  expect_false(any(grepl("\033", out, fixed = TRUE)))
  expect_false(any(grepl("\r", out, fixed = TRUE)))
  expect_identical(out[[length(out)]], "done")
})
