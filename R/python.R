# Finding, checking and installing the Python side.

lrschedule_envname <- "lrschedule"

use_installed_environment <- function() {
  # RETICULATE_PYTHON wins; otherwise the virtualenv install_lrschedule() made, if
  # any. Neither starts Python.
  if (nzchar(Sys.getenv("RETICULATE_PYTHON"))) {
    return(invisible(FALSE))
  }
  if (reticulate::virtualenv_exists(lrschedule_envname)) {
    reticulate::use_virtualenv(lrschedule_envname, required = FALSE)
    return(invisible(TRUE))
  }
  invisible(FALSE)
}

python_path <- function() {
  config <- tryCatch(
    if (reticulate::py_available()) reticulate::py_config() else reticulate::py_discover_config(),
    error = function(e) NULL
  )
  if (is.null(config$python)) "python" else config$python
}

# Runs before the first use of any module (see lrs(), keras(), np()) and aborts, with
# what to run, until the environment is right: no call goes on with a broken one.
ensure_python <- function() {
  if (isTRUE(python_state$ready)) return(invisible(TRUE))
  check_python_environment()
  python_state$ready <- TRUE
  invisible(TRUE)
}

check_python_environment <- function() {
  wheel <- shipped_wheel()
  for (module in c("numpy", "keras", "lrschedule")) {
    available <- tryCatch(reticulate::py_module_available(module), error = function(e) FALSE)
    if (!isTRUE(available)) {
      cli::cli_abort(python_missing_module_problem(module),
                     .envir = problem_env(list(python = python_path(), wheel = wheel)),
                     class = "lrschedule_environment_error", call = NULL)
    }
  }
  facts <- list(
    numpy = reticulate::py_eval("__import__('numpy').__version__"),
    reticulate = as.character(utils::packageVersion("reticulate")),
    core = reticulate::py_eval("__import__('lrschedule').__version__"),
    r_package = as.character(utils::packageVersion("lrschedule")),
    python = python_path()
  )
  problem <- do.call(python_environment_problem, facts)
  if (!is.null(problem)) {
    cli::cli_abort(problem, .envir = problem_env(c(facts, wheel = wheel)),
                   class = "lrschedule_environment_error", call = NULL)
  }
  invisible(TRUE)
}

# What the messages interpolate; the shell commands are built here because cli's
# inline markup cannot hold the quotes that `'numpy<2'` needs.
problem_env <- function(facts) {
  python <- facts$python
  wheel <- facts$wheel
  list2env(c(facts, list(
    numpy_command = paste(python, "-m pip install 'numpy<2'"),
    keras_command = paste(python, "-m pip install keras tensorflow-cpu 'numpy<2'", wheel),
    core_command = paste(python, "-m pip install", wheel)
  )))
}

# The message (a cli template using `python` and `wheel`) for a module that the
# Python in use does not have.
python_missing_module_problem <- function(module) {
  what <- switch(module,
    lrschedule = "the Python core of lrschedule",
    keras = "Keras",
    numpy = "NumPy"
  )
  install <- if (module == "lrschedule") "{.code {core_command}}" else "{.code {keras_command}}"
  c(
    paste0("The Python in use ({.path {python}}) does not have ", what,
           " ({.pkg ", module, "})."),
    "i" = "Run {.run lrschedule::install_lrschedule()} and restart R, or install it there:",
    " " = install,
    "i" = paste0("Or set {.envvar RETICULATE_PYTHON} to a Python that has Keras and the ",
                 "core, before R starts Python.")
  )
}

# NULL when the versions fit together, else the message (a cli bullet vector) that
# says what to run.
python_environment_problem <- function(numpy, reticulate, core, r_package, python) {
  if (numeric_version(numpy) >= "2.0.0" && numeric_version(reticulate) < "1.36.0") {
    return(c(
      "NumPy {numpy} cannot exchange arrays with reticulate {reticulate}.",
      "i" = "reticulate before 1.36 supports NumPy 1.x only; install {.code numpy<2} in {.path {python}}:",
      " " = "{.code {numpy_command}}",
      " " = "or run {.run lrschedule::install_lrschedule()}."
    ))
  }
  if (!identical(core, r_package)) {
    wheel <- shipped_wheel()
    return(c(
      "The Python core {.pkg lrschedule} {core} does not match the R package {.pkg lrschedule} {r_package}.",
      "i" = "Run {.run lrschedule::install_lrschedule()} to install the matching core, or:",
      " " = "{.code {python} -m pip install {wheel}}"
    ))
  }
  NULL
}

shipped_wheel <- function() {
  wheels <- list.files(system.file("python", package = "lrschedule"),
                       pattern = "^lrschedule-.*\\.whl$", full.names = TRUE)
  if (length(wheels) == 0) "lrschedule" else wheels[[length(wheels)]]
}

# What install_lrschedule() puts in the virtualenv: NumPy 1.x for reticulate < 1.36,
# Keras 3 (whose optimizer signatures R/optimizers-generated.R follows), TensorFlow as
# its backend, and the core of this very version, from the wheel the package ships.
python_requirements <- function() {
  c("keras>=3.0,<4", "tensorflow-cpu", "numpy<2", shipped_wheel())
}

#' Install the Python side of lrschedule
#'
#' Creates (or updates) a Python virtualenv with Keras 3, TensorFlow (CPU) as
#' its backend, NumPy 1.x, and the Python core of lrschedule that matches this R
#' package, installed from the wheel the R package ships. After a restart of R,
#' `library(lrschedule)` uses it automatically (unless `RETICULATE_PYTHON` says
#' otherwise).
#'
#' @param envname String. Name of the virtualenv. Defaults to `"lrschedule"`.
#' @param python String or `NULL`. The Python used to create the environment;
#'   `NULL` lets reticulate choose. Defaults to `NULL`.
#' @param extra_packages Character vector of further Python packages to install.
#'   Defaults to none.
#' @returns The path of the environment's Python, invisibly.
#' @family python environment
#' @examples
#' \dontrun{
#' install_lrschedule()
#' }
#' @export
install_lrschedule <- function(envname = lrschedule_envname, python = NULL,
                               extra_packages = character()) {
  # all checked before anything is created or installed
  envname <- check_string(envname)
  python <- check_string_or_null(python)
  extra_packages <- check_character(extra_packages)
  if (!reticulate::virtualenv_exists(envname)) {
    # reticulate's default would put NumPy 2 in first, only for it to be replaced.
    reticulate::virtualenv_create(envname, python = python, packages = "numpy<2")
  }
  packages <- c(python_requirements(), extra_packages)
  reticulate::virtualenv_install(envname, packages = packages, ignore_installed = FALSE)
  path <- reticulate::virtualenv_python(envname)
  cli::cli_inform(c("v" = "Installed Keras and the lrschedule core in {.path {path}}.",
                    "i" = "Restart R to use it."))
  invisible(path)
}

#' Report which Python lrschedule uses, and what it has
#'
#' Prints the Python executable, and the versions of Keras (and its backend),
#' NumPy, reticulate and the Python core, with the check that they fit together.
#'
#' @returns A named list of the same facts, invisibly.
#' @family python environment
#' @examples
#' if (lrschedule:::python_ready()) lrschedule_sitrep()
#' @export
lrschedule_sitrep <- function() {
  config <- tryCatch(reticulate::py_config(), error = function(e) NULL)
  version_of <- function(module) {
    tryCatch(reticulate::py_eval(sprintf("__import__('%s').__version__", module)),
             error = function(e) NA_character_)
  }
  info <- list(
    python = if (is.null(config)) NA_character_ else config$python,
    keras = version_of("keras"),
    backend = tryCatch(keras()$backend$backend(), error = function(e) NA_character_),
    numpy = version_of("numpy"),
    core = version_of("lrschedule"),
    r_package = as.character(utils::packageVersion("lrschedule")),
    reticulate = as.character(utils::packageVersion("reticulate"))
  )
  ok <- tryCatch(isTRUE(check_python_environment()), error = function(e) conditionMessage(e))
  cli::cli_h2("lrschedule situation report")
  for (name in names(info)) cli::cli_text("{.strong {name}}: {info[[name]]}")
  if (isTRUE(ok)) cli::cli_alert_success("Python core and R package match.")
  else cli::cli_alert_danger("{ok}")
  invisible(info)
}

# TRUE when the Python side is there and fits (used to guard examples and tests).
python_ready <- function() {
  isTRUE(tryCatch(ensure_python(), error = function(e) FALSE))
}
