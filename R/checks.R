# R-side coercion and checks. Python validates values (ranges, orderings) once, in the
# core; here we catch what only R can get wrong (NA, length, fractional counts, a
# function where a number belongs) and turn R types into what Keras expects.

fmt_value <- function(x) {
  if (is.null(x)) return("NULL")
  if (inherits(x, "python.builtin.object")) return(paste0("a Python ", class(x)[[1]]))
  if (is.function(x)) return("an R function")
  # dput() would show a matrix as its flat values, a data frame as a list
  if (is.data.frame(x)) return(sprintf("a data frame of %d x %d", nrow(x), ncol(x)))
  if (is.atomic(x) && length(dim(x)) >= 2) {
    return(sprintf("a %s %s of %s", paste(dim(x), collapse = " x "),
                   if (length(dim(x)) == 2) "matrix" else "array", typeof(x)))
  }
  text <- paste(utils::capture.output(dput(x, control = NULL)), collapse = "")
  if (nchar(text) > 80) text <- paste0(substr(text, 1, 77), "...")
  text
}

abort_arg <- function(arg, x, expected, call) {
  value <- fmt_value(x)
  cli::cli_abort(
    c("{.arg {arg}} must be {expected}.", "x" = "You supplied {.code {value}}."),
    class = "lrschedule_argument_error", call = call
  )
}

# A single finite number (a rate, a factor). Returns a double.
check_number <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  if (!is.numeric(x) || length(x) != 1 || is.na(x) || !is.finite(x)) {
    abort_arg(arg, x, "a single finite number", call)
  }
  as.double(x)
}

check_number_or_null <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  if (is.null(x)) return(NULL)
  check_number(x, arg, call)
}

# A whole number (a count of steps, a period). R's 1000 is a double: it becomes the
# integer 1000, and 10.5 is refused rather than truncated.
check_whole <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  if (!is.numeric(x) || length(x) != 1 || is.na(x) || !is.finite(x) || x != trunc(x) ||
      abs(x) > .Machine$integer.max) {
    abort_arg(arg, x, "a single whole number", call)
  }
  as.integer(x)
}

check_whole_or_null <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  if (is.null(x)) return(NULL)
  check_whole(x, arg, call)
}

# A vector of whole numbers, passed to Python as a list (so that length 1 stays a list).
check_whole_vector <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  if (!is.numeric(x) || length(x) == 0 || anyNA(x) || any(!is.finite(x)) || any(x != trunc(x))) {
    abort_arg(arg, x, "a non-empty vector of whole numbers", call)
  }
  as.list(as.integer(x))
}

# A vector of finite numbers, passed to Python as a list.
check_number_vector <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  if (!is.numeric(x) || length(x) == 0 || anyNA(x) || any(!is.finite(x))) {
    abort_arg(arg, x, "a non-empty vector of finite numbers", call)
  }
  as.list(as.double(x))
}

check_flag <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  if (!is.logical(x) || length(x) != 1 || is.na(x)) {
    abort_arg(arg, x, "TRUE or FALSE", call)
  }
  x
}

check_string <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  if (!is.character(x) || length(x) != 1 || is.na(x)) {
    abort_arg(arg, x, "a single string", call)
  }
  x
}

check_string_or_null <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  if (is.null(x)) return(NULL)
  check_string(x, arg, call)
}

# NULL, or a character vector without NA as a list (a Python list, whatever its length).
check_strings_or_null <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  if (is.null(x)) return(NULL)
  as.list(check_character(x, arg, call))
}

# A character vector without NA (may be empty).
check_character <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  if (!is.character(x) || anyNA(x)) {
    abort_arg(arg, x, "a character vector without NA", call)
  }
  x
}

# An R function that can be called with `n` arguments: refused when it takes none (and
# has no `...`) or requires more than `n`. `what` says what the arguments are, as in
# "a function of the step" (a constant of ours: cli markup in it is applied).
# Returns the number of named arguments. Primitives have no formals of their own;
# args() gives their documented ones.
check_function_arity <- function(fn, n, what, arg = rlang::caller_arg(fn),
                                 call = rlang::caller_env()) {
  params <- formals(if (is.primitive(fn)) args(fn) else fn)
  named <- setdiff(names(params), "...")
  required <- named[vapply(named, function(p) identical(params[[p]], quote(expr = )), logical(1))]
  header <- paste0("{.arg {arg}} must be ", what, ".")
  if (length(required) > n) {
    cli::cli_abort(c(
      header,
      "x" = "It requires {length(required)} arguments: {.code {required}}."
    ), class = "lrschedule_argument_error", call = call)
  }
  if (length(named) == 0 && !"..." %in% names(params)) {
    cli::cli_abort(c(header, "x" = "It takes no argument."),
                   class = "lrschedule_argument_error", call = call)
  }
  invisible(length(named))
}

py_isinstance <- function(x, cls) {
  inherits(x, "python.builtin.object") && !reticulate::py_is_null_xptr(x) &&
    isTRUE(tryCatch(reticulate::import_builtins()$isinstance(x, cls), error = function(e) FALSE))
}

is_schedule <- function(x) {
  py_isinstance(x, keras()$optimizers$schedules$LearningRateSchedule)
}

check_schedule <- function(x, arg = rlang::caller_arg(x), call = rlang::caller_env()) {
  if (is_schedule(x)) return(x)
  if (is.function(x) && !inherits(x, "python.builtin.object")) {
    abort_arg(arg, x, paste0("a learning-rate schedule (wrap an R function with ",
                             "schedule_function(fn, total_steps))"), call)
  }
  if (inherits(x, "python.builtin.object") && reticulate::py_is_null_xptr(x)) {
    # An object restored by readRDS() or from a saved workspace: its Python side is gone.
    cli::cli_abort(c(
      "{.arg {arg}} is a schedule whose Python object no longer exists.",
      "i" = "Python objects do not survive {.fn saveRDS} or a saved workspace: build it again."
    ), class = "lrschedule_argument_error", call = call)
  }
  abort_arg(arg, x, "a learning-rate schedule (a schedule_*() object)", call)
}

# Calls into Python; a Python exception becomes an R error whose message is the
# core's own ("Argument `x` must be ... Received: x=..."), pointing at the user's call.
py_call <- function(fn, args, call = rlang::caller_env()) {
  tryCatch(
    do.call(fn, args),
    error = function(e) rethrow_python_error(e, call)
  )
}

rethrow_python_error <- function(e, call) {
  if (inherits(e, "lrschedule_error") || inherits(e, "rlang_error")) stop(e)
  message <- trimws(conditionMessage(e))
  message <- sub("\n\\s*Run `reticulate::py_last_error\\(\\)` for details\\.?\\s*$", "", message)
  type <- regmatches(message, regexpr("^[A-Za-z_.]*(Error|Exception)(?=: )", message, perl = TRUE))
  if (length(type) == 1) {
    message <- sub(paste0("^", type, ": "), "", message)
  } else {
    type <- "Exception"
  }
  cli::cli_abort("{message}", class = c(paste0("python.builtin.", sub(".*\\.", "", type)),
                                         "lrschedule_error"),
                 call = call, parent = NA)
}
