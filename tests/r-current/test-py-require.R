# The route R users take now (reticulate >= 1.41, no Python chosen): library(lrschedule)
# declares Keras, TensorFlow and the core with py_require(), reticulate builds one
# environment with uv, and it trains. Run by `make test-r-current` in the Debian
# unstable root (R 4.6, reticulate 1.47), each case in a new R process with no
# RETICULATE_PYTHON, as a user's script starts.

skip_if(utils::packageVersion("reticulate") < "1.41.0", "reticulate without py_require()")

line_after <- function(out, tag) {
  hit <- grep(paste0("^", tag, " "), out, value = TRUE)
  if (length(hit) != 1) stop("no single line '", tag, "' in:\n", paste(out, collapse = "\n"))
  trimws(sub(paste0("^", tag, " "), "", hit))
}
numbers <- function(out, tag) as.numeric(strsplit(line_after(out, tag), " ")[[1]])

model_file <- file.path(tempdir(), "one-cycle.keras")

# One-cycle on the kernel model (one weight, no bias, inputs 1, targets -1000, mean
# absolute error): the gradient is 1 at every step, so plain SGD moves the weight by
# minus the rate it used, and the weight after a run is minus the sum of the rates.
train_code <- c(
  "library(lrschedule)",
  "keras <- reticulate::import('keras')",
  "s <- schedule_one_cycle(0.1, total_steps = 12)",
  "model <- keras$Sequential(list(keras$Input(shape = list(1L)),",
  "  keras$layers$Dense(1L, use_bias = FALSE, kernel_initializer = 'zeros')))",
  "model$compile(optimizer = optimizer_sgd(learning_rate = s), loss = 'mean_absolute_error')",
  "logger <- callback_lr_logger(per = 'batch')",
  "plateau <- callback_reduce_lr_on_plateau(monitor = 'loss', patience = 100)",
  "invisible(model$fit(matrix(1, 12, 1), matrix(-1000, 12, 1), batch_size = 1L, epochs = 3L,",
  "  shuffle = FALSE, verbose = 0L, callbacks = list(plateau, logger)))",
  "cat('KERNEL', model$layers[[1]]$kernel$numpy()[1, 1], '\\n')",
  "cat('USED', unlist(logger$batch_rates), '\\n')",
  "cat('PYTHON', reticulate::py_config()$python, '\\n')",
  "cat('EPHEMERAL', isTRUE(reticulate::py_config()$ephemeral), '\\n')",
  "cat('REQUIRED', reticulate::py_require()$packages, '\\n')",
  sprintf("model$save('%s')", model_file)
)

# PyTorch's OneCycleLR (cosine, two phases, pct_start 0.3, div_factor 25,
# final_div_factor 1e4) for `total` steps, written out here from its documentation.
one_cycle <- function(step, max_lr, total) {
  initial <- max_lr / 25
  final <- initial / 1e4
  up <- 0.3 * total - 1
  cos_anneal <- function(from, to, pct) to + (from - to) / 2 * (cos(pi * pct) + 1)
  ifelse(step <= up, cos_anneal(initial, max_lr, step / up),
         cos_anneal(max_lr, final, (step - up) / (total - 1 - up)))
}

test_that("library(lrschedule) alone, no Python chosen: py_require()'s environment trains at the formula's rates", {
  run <- fresh_r(train_code)
  expected <- one_cycle(0:11, 0.1, 12)
  # three epochs of 12 steps: the schedule ends at step 11, then stays at its end
  used <- numbers(run$out, "USED")
  expect_equal(used[1:12], expected, tolerance = 1e-5)
  expect_equal(numbers(run$out, "KERNEL"), -sum(used), tolerance = 1e-5)
  expect_identical(line_after(run$out, "EPHEMERAL"), "TRUE")
  required <- line_after(run$out, "REQUIRED")
  expect_match(required, "lrschedule @ file://", fixed = TRUE)
  expect_match(required, "keras~=3.15.1", fixed = TRUE)
  expect_match(required, "tensorflow-cpu~=2.21.0", fixed = TRUE)
  cat(sprintf("\n[first session, environment built or found: %.1f s]\n", run$seconds))
})

test_that("a model saved there loads in a new session, and that session does not rebuild the environment", {
  first <- fresh_r(train_code)
  python <- line_after(first$out, "PYTHON")
  second <- fresh_r(c(
    "library(lrschedule)",
    sprintf("m <- reticulate::import('keras')$models$load_model('%s')", model_file),
    "cat('RATE', lr_values(m$optimizer[['_learning_rate']], 0:11), '\\n')",
    "cat('PYTHON', reticulate::py_config()$python, '\\n')"))
  expect_equal(numbers(second$out, "RATE"), one_cycle(0:11, 0.1, 12), tolerance = 1e-5)
  # the same environment: reticulate found the one it built (uv's cache), nothing rebuilt
  expect_identical(line_after(second$out, "PYTHON"), python)
  expect_lt(second$seconds, 60)
  cat(sprintf("\n[a later session, load_model() included: %.1f s]\n", second$seconds))
})

test_that("the core is built from a stable folder under the user's cache, with the package's version", {
  run <- fresh_r(c(
    "library(lrschedule)",
    "cat('REQUIRED', reticulate::py_require()$packages, '\\n')",
    "cat('CORE', lrschedule:::lrs()$`__version__`, '\\n')"))
  folder <- sub("^.*lrschedule @ file://([^ ]+).*$", "\\1", line_after(run$out, "REQUIRED"))
  expect_true(startsWith(folder, tools::R_user_dir("lrschedule", "cache")))
  expect_true(file.exists(file.path(folder, "setup.py")))
  expect_identical(line_after(run$out, "CORE"), as.character(utils::packageVersion("lrschedule")))
  again <- fresh_r(c("library(lrschedule)", "cat('REQUIRED', reticulate::py_require()$packages, '\\n')"))
  expect_identical(line_after(again$out, "REQUIRED"), line_after(run$out, "REQUIRED"))
})

test_that("a backend declared before library(lrschedule) (as keras3 does) is not doubled", {
  run <- fresh_r(c(
    "reticulate::py_require(c('keras', 'tensorflow-cpu'))",  # keras3's .onLoad, in short
    "library(lrschedule)",
    "cat('REQUIRED', reticulate::py_require()$packages, '\\n')"))
  required <- strsplit(line_after(run$out, "REQUIRED"), " ")[[1]]
  expect_identical(sum(startsWith(required, "tensorflow")), 1L)
  expect_true("keras~=3.15.1" %in% required)
  # and keras3's use_backend() pattern removes lrschedule's own TensorFlow request when
  # keras3 is attached after lrschedule
  after <- fresh_r(c(
    "library(lrschedule)",
    "tf <- grep('^tensorflow(-cpu|-metal|-macos|\\\\[and-cuda\\\\])?[=~*!<>0-9.]*$',",
    "           reticulate::py_require()$packages, value = TRUE)",
    "cat('MATCHED', tf, '\\n')"))
  expect_identical(line_after(after$out, "MATCHED"), "tensorflow-cpu~=2.21.0")
})
