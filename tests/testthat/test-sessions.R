# What a user does first, each in a new process: load a saved model as the first call
# after library(lrschedule), with Keras imported before or after the package, across R
# and Python. An earlier call in the same process would hide a missing registration.
#
# The probe: a one-weight model, y = w * x, trained with SGD on mean absolute error
# towards a far target (x = 1, y = -1000), so that each step moves w by exactly the
# learning rate of that step: w_{k+1} = w_k - lr(k). The rates expected are the
# schedules' formulas, written out here.

# Warmup from 0.02 over 4 steps into StepDecay(0.1, step_size = 2, gamma = 0.5).
warmup_rate <- function(step) {
  ifelse(step < 4, 0.02 + (0.1 - 0.02) * step / 4, 0.1 * 0.5^floor((step - 4) / 2))
}
# schedule_function(function(step) 0.1 / (1 + step), 100), after two plateau halvings.
plateau_rate <- function(step) 0.25 * 0.1 / (1 + step)

r_probe <- c(
  "suppressPackageStartupMessages(library(lrschedule))",
  "keras <- reticulate::import('keras')",
  "probe <- function(learning_rate) {",
  "  m <- keras$Sequential(list(keras$Input(shape = list(1L)),",
  "    keras$layers$Dense(1L, use_bias = FALSE, kernel_initializer = 'zeros')))",
  "  m$compile(optimizer = optimizer_sgd(learning_rate = learning_rate),",
  "            loss = 'mean_absolute_error')",
  "  m",
  "}",
  "x <- matrix(1, 10, 1); y <- matrix(-1000, 10, 1)",
  "kernel <- function(m) as.numeric(m$get_weights()[[1]])"
)

# Saves, from a fresh R, a model trained 5 steps under the warmup schedule and one
# trained 3 epochs of 2 steps under a plateau over an R-function table.
save_from_r <- function(dir) {
  out <- run_fresh_r(c(
    r_probe,
    "m <- probe(schedule_warmup(schedule_step_decay(0.1, 2, 0.5), 4, start_learning_rate = 0.02))",
    "m$fit(x[1:5, , drop = FALSE], y[1:5, , drop = FALSE], batch_size = 1L, epochs = 1L,",
    "      shuffle = FALSE, verbose = 0L)",
    sprintf("m$save('%s')", file.path(dir, "warmup.keras")),
    "cat('SAVED_WARMUP', kernel(m), '\\n')",
    "p <- probe(schedule_function(function(step) 0.1 / (1 + step), 100))",
    "plateau <- callback_reduce_lr_on_plateau(monitor = 'loss', mode = 'max', factor = 0.5,",
    "                                         patience = 0)",
    "p$fit(x[1:2, , drop = FALSE], y[1:2, , drop = FALSE], batch_size = 1L, epochs = 3L,",
    "      shuffle = FALSE, verbose = 0L, callbacks = list(plateau))",
    sprintf("p$save('%s')", file.path(dir, "plateau.keras")),
    "cat('SAVED_PLATEAU', kernel(p), '\\n')"
  ))
  list(warmup = numbers_after(out, "SAVED_WARMUP"), plateau = numbers_after(out, "SAVED_PLATEAU"))
}

# The files save_from_r() wrote, made once for the tests that load them (each load runs
# in a process of its own; the files are only read).
saved_in_r <- local({
  made <- NULL
  function() {
    if (is.null(made)) {
      dir <- tempfile("saved-in-r-")
      dir.create(dir)
      made <<- list(dir = dir, kernels = save_from_r(dir))
    }
    made
  }
})

# R code that, as the first calls after `prelude`, loads both models, trains each 3 more
# steps and prints the kernels before and after.
r_load_and_train <- function(dir, prelude) {
  c(
    prelude,
    sprintf("w <- keras$models$load_model('%s', safe_mode = TRUE)", file.path(dir, "warmup.keras")),
    sprintf("p <- keras$models$load_model('%s', safe_mode = TRUE)", file.path(dir, "plateau.keras")),
    "kernel <- function(m) as.numeric(m$get_weights()[[1]])",
    "x <- matrix(1, 3, 1); y <- matrix(-1000, 3, 1)",
    "for (name in c('w', 'p')) {",
    "  m <- get(name)",
    "  before <- kernel(m)",
    "  m$fit(x, y, batch_size = 1L, epochs = 1L, shuffle = FALSE, verbose = 0L)",
    "  cat(toupper(name), before, kernel(m), as.numeric(m$optimizer$iterations$numpy()), '\\n')",
    "}",
    "rate <- reticulate::py_get_attr(p$optimizer, '_learning_rate')",
    "cat('RATE', rate$`__class__`$`__name__`, rate$multiplier, '\\n')"
  )
}

expect_continues <- function(out, saved) {
  w <- numbers_after(out, "W")
  expect_equal(w[[1]], saved$warmup, tolerance = 1e-6)
  expect_equal(w[[1]], -sum(warmup_rate(0:4)), tolerance = 1e-5)
  # steps 5, 6, 7 at the schedule's rates: the step count was saved, the formula holds
  expect_equal(w[[1]] - w[[2]], sum(warmup_rate(5:7)), tolerance = 1e-5)
  expect_equal(w[[3]], 8)
  p <- numbers_after(out, "P")
  expect_equal(p[[1]], saved$plateau, tolerance = 1e-6)
  expect_equal(p[[1]] - p[[2]], sum(plateau_rate(6:8)), tolerance = 1e-5)
  expect_equal(p[[3]], 9)
  expect_true(any(grepl("^RATE .*ControlledRate 0.25", out)), info = paste(out, collapse = "\n"))
}

test_that("a model saved in R loads as the first call of a new R session, and trains on", {
  skip_on_cran()
  skip_if_no_lrschedule()
  dir <- saved_in_r()$dir
  saved <- saved_in_r()$kernels
  out <- run_fresh_r(r_load_and_train(dir, c(
    "suppressPackageStartupMessages(library(lrschedule))",
    "keras <- reticulate::import('keras')"
  )))
  expect_continues(out, saved)
})

test_that("it loads too when Keras was imported before library(lrschedule)", {
  skip_on_cran()
  skip_if_no_lrschedule()
  dir <- saved_in_r()$dir
  saved <- saved_in_r()$kernels
  out <- run_fresh_r(r_load_and_train(dir, c(
    "keras <- reticulate::import('keras')",
    "invisible(keras$`__version__`)",  # Keras imported, then the package attached
    "suppressPackageStartupMessages(library(lrschedule))"
  )))
  expect_continues(out, saved)
})

test_that("a model saved in R loads in a new Python process and trains on", {
  skip_on_cran()
  skip_if_no_lrschedule()
  dir <- saved_in_r()$dir
  saved <- saved_in_r()$kernels
  out <- run_fresh_python(c(
    "import keras, numpy as np",
    "import lrschedule",
    "x = np.ones((3, 1), 'float32'); y = np.full((3, 1), -1000.0, 'float32')",
    "for tag, name in (('W', 'warmup'), ('P', 'plateau')):",
    sprintf("    m = keras.models.load_model('%s/' + name + '.keras', safe_mode=True)", dir),
    "    before = float(m.get_weights()[0][0, 0])",
    "    m.fit(x, y, batch_size=1, epochs=1, shuffle=False, verbose=0)",
    "    print(tag, before, float(m.get_weights()[0][0, 0]), int(m.optimizer.iterations))",
    "    if tag == 'P':",
    "        rate = m.optimizer._learning_rate",
    "        print('RATE', type(rate).__name__, rate.multiplier)"
  ))
  expect_continues(out, saved)
})

test_that("a model saved in Python loads as the first call of a new R session", {
  skip_on_cran()
  skip_if_no_lrschedule()
  dir <- tempfile("saved-in-python-")
  dir.create(dir)
  out <- run_fresh_python(c(
    "import keras, numpy as np",
    "import lrschedule as lrs",
    "def probe(rate):",
    "    m = keras.Sequential([keras.Input((1,)),",
    "        keras.layers.Dense(1, use_bias=False, kernel_initializer='zeros')])",
    "    m.compile(optimizer=keras.optimizers.SGD(learning_rate=rate), loss='mean_absolute_error')",
    "    return m",
    "x = np.ones((10, 1), 'float32'); y = np.full((10, 1), -1000.0, 'float32')",
    "w = probe(lrs.Warmup(lrs.StepDecay(0.1, 2, 0.5), 4, start_learning_rate=0.02))",
    "w.fit(x[:5], y[:5], batch_size=1, epochs=1, shuffle=False, verbose=0)",
    sprintf("w.save('%s/warmup.keras')", dir),
    "p = probe(lrs.Tabulated.from_function(lambda step: 0.1 / (1 + step), 100))",
    "plateau = lrs.ReduceLROnPlateau(monitor='loss', mode='max', factor=0.5, patience=0)",
    "p.fit(x[:2], y[:2], batch_size=1, epochs=3, shuffle=False, verbose=0, callbacks=[plateau])",
    sprintf("p.save('%s/plateau.keras')", dir),
    "print('SAVED_WARMUP', float(w.get_weights()[0][0, 0]))",
    "print('SAVED_PLATEAU', float(p.get_weights()[0][0, 0]))"
  ))
  saved <- list(warmup = numbers_after(out, "SAVED_WARMUP"),
                plateau = numbers_after(out, "SAVED_PLATEAU"))
  out <- run_fresh_r(r_load_and_train(dir, c(
    "suppressPackageStartupMessages(library(lrschedule))",
    "keras <- reticulate::import('keras')"
  )))
  expect_continues(out, saved)
})

test_that("Keras schedules made before library(lrschedule) get its methods", {
  skip_on_cran()
  skip_if_no_lrschedule()
  png <- tempfile(fileext = ".png")
  out <- run_fresh_r(c(
    "keras <- reticulate::import('keras')",
    "ks <- keras$optimizers$schedules$ExponentialDecay(0.1, 10L, 0.5)",
    "suppressPackageStartupMessages(library(lrschedule))",
    "cat('CLASS', inherits(ks, 'lrschedule_schedule'), '\\n')",
    "cat('FORMAT', format(ks)[[1]], '\\n')",
    "print(ks)",
    "cat('VALUES', lr_values(ks, c(0, 10, 20)), '\\n')",
    "cat('ROWS', nrow(as.data.frame(ks)), '\\n')",
    sprintf("grDevices::png('%s'); plot(ks); invisible(grDevices::dev.off())", png),
    "cat('DONE\\n')"
  ))
  text <- paste(out, collapse = "\n")
  expect_true("CLASS FALSE " %in% out, info = text)  # made before: no class of ours
  expect_true("FORMAT <ExponentialDecay> learning-rate schedule " %in% out, info = text)
  expect_true(any(grepl("^  lr at step +0: 0.1 \\|", out)), info = text)
  expect_equal(numbers_after(out, "VALUES"), 0.1 * 0.5^c(0, 1, 2), tolerance = 1e-6)
  expect_equal(numbers_after(out, "ROWS"), 20)  # two decay periods
  expect_true("DONE" %in% out, info = text)
  expect_gt(file.size(png), 1000)
})

test_that("the R tests need nothing outside tests/testthat (R CMD check runs them from the tarball)", {
  # `make test` runs these tests from the source tree and R CMD check without them; a
  # plain `R CMD build . && R CMD check` runs them from the built package, which carries
  # tests/testthat but not the Python tests' helpers.
  files <- list.files(test_path(), pattern = "[.]R$", full.names = TRUE)
  offending <- Filter(function(f) {
    code <- grep("^\\s*#", readLines(f), value = TRUE, invert = TRUE)  # comments aside
    code <- grep("offending|grepl\\(", code, value = TRUE, invert = TRUE)  # this test
    any(grepl('test_path\\(\\s*"\\.\\."|tests/python|import_from_path', code))
  }, files)
  expect_identical(basename(unlist(offending)), character())
})

test_that("autoplot() works in a new session with ggplot2 attached after lrschedule", {
  skip_on_cran()
  skip_if_no_lrschedule()
  skip_if_not_installed("ggplot2", "3.4.0")
  png <- tempfile(fileext = ".png")
  # ggplot2 loaded after lrschedule: R registers the methods when ggplot2 loads
  out <- run_fresh_r(c(
    "suppressPackageStartupMessages(library(lrschedule))",
    "cat('LOADED', 'ggplot2' %in% loadedNamespaces(), '\\n')",
    "library(ggplot2)",
    "p <- autoplot(schedule_step_decay(0.1, step_size = 10, gamma = 0.5), steps = 0:29)",
    "cat('GEOM', class(p$layers[[1]]$geom)[[1]], '\\n')",
    sprintf("ggsave('%s', p + geom_hline(yintercept = 0.05), width = 4, height = 3, dpi = 72)", png),
    "cat('DONE\\n')"
  ))
  text <- paste(out, collapse = "\n")
  expect_true("LOADED FALSE " %in% out, info = text)
  expect_true("GEOM GeomStep " %in% out, info = text)
  expect_true("DONE" %in% out, info = text)
  expect_gt(file.size(png), 1000)
})
