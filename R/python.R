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

core_import_error <- function(e) {
  cli::cli_abort(c(
    "The Python package {.pkg lrschedule} (the core of this R package) could not be imported.",
    "x" = "{conditionMessage(e)}",
    "i" = "Python in use: {.path {python_path()}}.",
    "i" = "Run {.run lrschedule::install_lrschedule()} to create a Python environment with Keras and the core, or set {.envvar RETICULATE_PYTHON} to a Python that has them."
  ), call = NULL)
}

python_path <- function() {
  tryCatch(reticulate::py_discover_config()$python, error = function(e) "unknown")
}

# Runs once, when the core is first imported.
check_python_environment <- function(...) {
  problem <- python_environment_problem(
    numpy = reticulate::py_eval("__import__('numpy').__version__"),
    reticulate = as.character(utils::packageVersion("reticulate")),
    core = reticulate::py_eval("__import__('lrschedule').__version__"),
    r_package = as.character(utils::packageVersion("lrschedule")),
    python = python_path()
  )
  if (!is.null(problem)) cli::cli_abort(problem, class = "lrschedule_environment_error", call = NULL)
  invisible(TRUE)
}

# NULL when the versions fit together, else the message (a cli bullet vector) that
# says what to run.
python_environment_problem <- function(numpy, reticulate, core, r_package, python) {
  if (numeric_version(numpy) >= "2.0.0" && numeric_version(reticulate) < "1.36.0") {
    return(c(
      "NumPy {numpy} cannot exchange arrays with reticulate {reticulate}.",
      "i" = "reticulate before 1.36 supports NumPy 1.x only; install {.code numpy<2} in {.path {python}}:",
      " " = "{.code {python} -m pip install 'numpy<2'}",
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
  envname <- check_string(envname)
  if (!reticulate::virtualenv_exists(envname)) {
    reticulate::virtualenv_create(envname, python = python)
  }
  packages <- c("keras>=3.0", "tensorflow-cpu", "numpy<2", shipped_wheel(), extra_packages)
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
  else cli::cli_alert_danger(ok)
  invisible(info)
}

# TRUE when the Python side is there and fits (used to guard examples and tests).
python_ready <- function() {
  isTRUE(tryCatch({
    reticulate::py_module_available("lrschedule") &&
      reticulate::py_module_available("keras") &&
      isTRUE(check_python_environment())
  }, error = function(e) FALSE))
}
