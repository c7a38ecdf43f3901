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
  core_source <- shipped_core()
  for (module in c("numpy", "keras", "lrschedule")) {
    available <- tryCatch(reticulate::py_module_available(module), error = function(e) FALSE)
    if (!isTRUE(available)) {
      cli::cli_abort(python_missing_module_problem(module),
                     .envir = problem_env(list(python = python_path(), core_source = core_source)),
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
    cli::cli_abort(problem, .envir = problem_env(c(facts, core_source = core_source)),
                   class = "lrschedule_environment_error", call = NULL)
  }
  invisible(TRUE)
}

# What the messages interpolate; the shell commands are built here because cli's
# inline markup cannot hold the quotes that `'numpy<2'` needs. `core_source` is the
# folder of the core's sources that the R package ships.
problem_env <- function(facts) {
  python <- facts$python
  source <- shQuote(facts$core_source)
  list2env(c(facts, list(
    numpy_command = paste(python, "-m pip install 'numpy<2'"),
    keras_command = paste(python, "-m pip install keras tensorflow-cpu 'numpy<2'", source),
    core_command = paste(python, "-m pip install", source)
  )))
}

# The message (a cli template using `python` and `core_command`) for a module that the
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
    return(c(
      "The Python core {.pkg lrschedule} {core} does not match the R package {.pkg lrschedule} {r_package}.",
      "i" = "Run {.run lrschedule::install_lrschedule()} to install the matching core, or:",
      " " = "{.code {core_command}}"
    ))
  }
  NULL
}

# The core's sources, shipped in every build of the R package: inst/python holds links
# to the checkout's pyproject.toml, setup.py and python/ (the one copy of the core),
# which R CMD build and R CMD INSTALL copy as files. pip builds the core from them, with
# the version of the DESCRIPTION beside them.
shipped_core <- function() {
  system.file("python", package = "lrschedule")
}

# Whether the shipped sources are complete (a checkout without symbolic links, e.g. on
# Windows with git's core.symlinks off, would carry the links as small text files).
shipped_core_problem <- function(source = shipped_core()) {
  needed <- c("pyproject.toml", "setup.py", file.path("python", "lrschedule", "__init__.py"))
  missing <- needed[!file.exists(file.path(source, needed))]
  if (!nzchar(source) || length(missing) > 0) {
    return(paste0("The R package's copy of the Python core in ", encodeString(source, quote = "'"),
                  " lacks ", paste(missing, collapse = ", "), "."))
  }
  NULL
}

# The versions the R package is tested with (requirements-dev.txt, which CI installs):
# from the pinned release up to, not including, the next minor one. install_lrschedule()
# installs inside these ranges; lrschedule_sitrep() says when the Python in use is
# outside them.
tested_versions <- list(
  keras = c(from = "3.15.1", below = "3.16"),
  tensorflow = c(from = "2.21.0", below = "2.22")
)

# Versions of `info` (a list of version strings by module) outside tested_versions.
untested_versions <- function(info) {
  out <- character()
  for (module in names(tested_versions)) {
    version <- info[[module]]
    range <- tested_versions[[module]]
    if (is.null(version) || is.na(version)) next
    v <- numeric_version(sub("[^0-9.].*$", "", version))
    if (v < range[["from"]] || v >= range[["below"]]) {
      out[[module]] <- paste0(module, " ", version, " (tested: >= ", range[["from"]], ", < ",
                              range[["below"]], ")")
    }
  }
  out
}

# What install_lrschedule() puts in the virtualenv: NumPy 1.x for reticulate < 1.36,
# Keras (whose optimizer signatures R/optimizers-generated.R follows) and TensorFlow as
# its backend in the tested ranges, and the core of this very version, built from
# `core_source`.
python_requirements <- function(core_source = shipped_core()) {
  range <- function(package, module) {
    paste0(package, ">=", tested_versions[[module]][["from"]], ",<",
           tested_versions[[module]][["below"]])
  }
  c(range("keras", "keras"), range("tensorflow-cpu", "tensorflow"), "numpy<2", core_source)
}

# A copy of the shipped sources with the package's DESCRIPTION (whose version the build
# reads) in a temporary folder: pip builds in the source folder, which may be a
# read-only system library.
core_build_copy <- function(call = rlang::caller_env()) {
  problem <- shipped_core_problem()
  if (!is.null(problem)) {
    cli::cli_abort(c(problem, "i" = "Reinstall the R package from a complete source."),
                   class = "lrschedule_environment_error", call = call)
  }
  copy <- tempfile("lrschedule-core-")
  dir.create(copy)
  file.copy(list.files(shipped_core(), full.names = TRUE), copy, recursive = TRUE)
  file.copy(system.file("DESCRIPTION", package = "lrschedule"), copy)
  copy
}

# Evaluates `code` with the shared-library folder of `python` first on LD_LIBRARY_PATH.
# R starts programs with the system's library folder first there, so a Python built
# with a libpython of its own (pyenv, python.org builds) that R runs picks up the
# system's libpython of another patch version instead, and its extension modules fail
# to load: seen here, pip without ssl ("_ssl...: undefined symbol: _PyModule_Add"), so
# it could not reach the package index. (reticulate loads the right libpython by path
# when it embeds Python; this is for the programs install_lrschedule() runs.)
with_python_libdir <- function(python, code) {
  libdir <- tryCatch(
    suppressWarnings(system2(python, c("-c", shQuote(
      "import sysconfig; print(sysconfig.get_config_var('LIBDIR') or '')")),
      stdout = TRUE, stderr = FALSE)),
    error = function(e) character()
  )
  if (length(libdir) == 1 && nzchar(libdir) && dir.exists(libdir)) {
    old <- Sys.getenv("LD_LIBRARY_PATH", unset = NA)
    on.exit(if (is.na(old)) Sys.unsetenv("LD_LIBRARY_PATH") else Sys.setenv(LD_LIBRARY_PATH = old),
            add = TRUE)
    Sys.setenv(LD_LIBRARY_PATH = paste(c(libdir, if (!is.na(old) && nzchar(old)) old),
                                       collapse = .Platform$path.sep))
  }
  code
}

#' Install the Python side of lrschedule
#'
#' Creates (or updates) a Python virtualenv with Keras 3, TensorFlow (CPU) as
#' its backend, NumPy 1.x, and the Python core of lrschedule that matches this R
#' package, built from the sources the R package ships (every way of installing
#' the R package carries them: no package registry is asked for the core). After a
#' restart of R,
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
  core_source <- core_build_copy()
  on.exit(unlink(core_source, recursive = TRUE), add = TRUE)
  if (!reticulate::virtualenv_exists(envname)) {
    # No packages yet: reticulate's default would put NumPy 2 in first, and would run
    # pip before the library path below is set.
    reticulate::virtualenv_create(envname, python = python, packages = FALSE)
  }
  path <- reticulate::virtualenv_python(envname)
  packages <- c("pip", "wheel", "setuptools", python_requirements(core_source), extra_packages)
  with_python_libdir(path, reticulate::virtualenv_install(envname, packages = packages,
                                                          ignore_installed = FALSE))
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
    tensorflow = version_of("tensorflow"),
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
  untested <- untested_versions(info)
  if (length(untested)) {
    cli::cli_alert_warning(c(
      "Outside the versions lrschedule is tested with: {paste(untested, collapse = '; ')}. ",
      "{.code install_lrschedule()} installs tested ones."
    ))
  }
  invisible(info)
}

# TRUE when the Python side is there and fits (used to guard examples and tests).
python_ready <- function() {
  isTRUE(tryCatch(ensure_python(), error = function(e) FALSE))
}
