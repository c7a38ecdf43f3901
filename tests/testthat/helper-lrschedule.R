skip_if_no_lrschedule <- function() {
  if (!lrschedule:::python_ready()) {
    skip("Python with keras and the matching lrschedule core is not available")
  }
}

# The shared table of reference rates (also read by pytest and the rpy2 tests).
reference_table <- function() {
  path <- test_path("fixtures", "reference-rates.csv")
  utils::read.csv(path, stringsAsFactors = FALSE)
}

# The Python callable whose arguments an R schedule function takes: the class the
# reference table pairs it with (lrschedule's, else Keras's), or for
# schedule_function(), which tabulates an R function, Tabulated.from_function.
python_counterpart <- function(r_function, python_class) {
  lrs <- reticulate::import("lrschedule")
  cls <- if (reticulate::py_has_attr(lrs, python_class)) lrs[[python_class]]
         else py_keras()$optimizers$schedules[[python_class]]
  if (r_function == "schedule_function") cls$from_function else cls
}

# Builds the schedule a table row describes, through the R functions.
build_reference <- function(r_function, args) {
  convert <- function(value) {
    if (is.list(value) && !is.null(value$r_function)) {
      return(build_reference(value$r_function, value$args))
    }
    if (is.list(value) && length(value) > 0 && all(vapply(value, is.numeric, logical(1)))) {
      return(unlist(value))
    }
    if (is.list(value)) return(lapply(value, convert))
    value
  }
  args <- lapply(args, convert)
  if (r_function == "schedule_function") {
    values <- args$values
    return(schedule_function(function(step) values[step + 1], length(values)))
  }
  do.call(r_function, args)
}

py_keras <- function() reticulate::import("keras")

# Runs `code` in a fresh R with the given environment variables (and this session's
# library paths, unless `env` sets R_LIBS); returns its output, stderr included.
run_fresh_r <- function(code, env = character(), wd = NULL) {
  rscript <- file.path(R.home("bin"), "Rscript")
  script <- tempfile(fileext = ".R")
  writeLines(code, script)
  if (!any(startsWith(env, "R_LIBS="))) {
    env <- c(env, paste0("R_LIBS=", paste(.libPaths(), collapse = ":")))
  }
  if (!is.null(wd)) {
    old <- setwd(wd)
    on.exit(setwd(old), add = TRUE)
  }
  suppressWarnings(system2(rscript, script, stdout = TRUE, stderr = TRUE, env = env))
}

# Runs Python `code` in a fresh process of the Python lrschedule uses; returns its output.
run_fresh_python <- function(code, env = character()) {
  script <- tempfile(fileext = ".py")
  writeLines(code, script)
  suppressWarnings(system2(reticulate::py_config()$python, script, stdout = TRUE, stderr = TRUE,
                           env = c("TF_CPP_MIN_LOG_LEVEL=3", env)))
}

# The numbers a fresh process printed on its line "<tag> n1 n2 ...".
numbers_after <- function(out, tag) {
  line <- grep(paste0("^", tag, " "), out, value = TRUE)
  if (length(line) != 1) {
    stop("no single line '", tag, "' in the output:\n", paste(out, collapse = "\n"))
  }
  as.numeric(strsplit(sub(paste0("^", tag, " "), "", line), " ")[[1]])
}

# The tests' fits are short and not sized to their schedules: the horizon check (an R
# warning during fit()) is off here, and on in test-horizon.R, which tests it.
options(lrschedule.horizon_check = FALSE)

# The kernel model: one kernel weight (no bias, starts at 0) on inputs of 1 with
# targets of -1000 and the mean absolute error. The gradient is exactly 1 at every
# step, so plain SGD moves the kernel by minus the learning rate it really used.
x_ones <- matrix(1, nrow = 4, ncol = 1)
y_far <- matrix(-1000, nrow = 4, ncol = 1)

kernel_model <- function(learning_rate = 0.1) {
  kernel_model_with(optimizer_sgd(learning_rate = learning_rate))
}

# The kernel model with any optimizer.
kernel_model_with <- function(optimizer) {
  keras <- py_keras()
  model <- keras$Sequential(list(
    keras$Input(shape = list(1L)),
    keras$layers$Dense(1L, use_bias = FALSE, kernel_initializer = "zeros")
  ))
  model$compile(optimizer = optimizer, loss = "mean_absolute_error")
  model
}

fit_kernel <- function(model, callbacks, epochs, initial_epoch = 0L, batch_size = 2L) {
  model$fit(x_ones, y_far, epochs = as.integer(epochs), initial_epoch = as.integer(initial_epoch),
            batch_size = as.integer(batch_size), shuffle = FALSE, verbose = 0L,
            callbacks = callbacks)
}
