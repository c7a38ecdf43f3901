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
    python_state$virtualenv <- TRUE
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
  # The check imports Keras, which runs the Keras-import hook (import_core()); the hook
  # waits for the check's outcome rather than checking again inside it.
  python_state$checking <- TRUE
  on.exit(python_state$checking <- FALSE, add = TRUE)
  check_python_environment()
  python_state$ready <- TRUE
  python_state$checking <- FALSE
  if (isTRUE(python_state$core_pending)) {
    python_state$core_pending <- FALSE
    import_core()
  }
  invisible(TRUE)
}

check_python_environment <- function() {
  core_source <- shipped_core()
  # Starting Python first: when reticulate cannot (it could not build its environment,
  # or the chosen Python does not exist), that is the cause, said once, not a missing
  # NumPy of a Python that never ran.
  started <- tryCatch({
    reticulate::py_config()
    NULL
  }, error = identity)
  if (!is.null(started)) {
    cli::cli_abort(python_start_problem(python_world_chosen()),
                   .envir = list2env(list(cause = conditionMessage(started))),
                   class = "lrschedule_environment_error", call = NULL)
  }
  world <- python_world()
  for (module in c("numpy", "keras", "lrschedule")) {
    available <- tryCatch(reticulate::py_module_available(module), error = function(e) FALSE)
    if (!isTRUE(available)) {
      cli::cli_abort(python_missing_module_problem(module, world),
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

# Which kind of Python this session runs, once Python runs: "ephemeral" (the
# environment reticulate >= 1.41 built from py_require() declarations),
# "RETICULATE_PYTHON", "virtualenv" (install_lrschedule()'s), or "other" (a Python
# chosen some other way: use_python(), use_virtualenv(), a conda environment...).
python_world <- function() {
  chosen <- python_world_chosen()
  if (!identical(chosen, "none")) return(chosen)
  config <- tryCatch(reticulate::py_config(), error = function(e) NULL)
  if (isTRUE(config$ephemeral)) "ephemeral" else "other"
}

# The message when reticulate could not start a Python (a cli template using `cause`,
# reticulate's own error, shown once here).
python_start_problem <- function(chosen) {
  head <- "reticulate could not start a Python, so lrschedule cannot run:"
  cause <- c("x" = "{cause}")
  if (!identical(chosen, "none")) {
    where <- if (identical(chosen, "RETICULATE_PYTHON")) {
      "{.envvar RETICULATE_PYTHON} names a Python that could not be started: correct or unset it."
    } else {
      "The virtualenv {.path lrschedule} that {.fn install_lrschedule} made could not be started: run {.run lrschedule::install_lrschedule()} again and restart R."
    }
    return(c(head, cause, "i" = where))
  }
  if (can_py_require()) {
    return(c(head, cause,
      "i" = paste0("With no Python chosen, reticulate builds an environment with uv from what ",
                   "packages declared with {.fn reticulate::py_require} (lrschedule: Keras, ",
                   "TensorFlow and its core); uv needs a Python (it downloads one unless one ",
                   "is installed) and the package index."),
      "i" = paste0("Offline or behind a proxy: point uv at a reachable index ",
                   "({.envvar UV_INDEX_URL}, {.envvar UV_NATIVE_TLS}), or set ",
                   "{.code UV_OFFLINE=1} once its cache holds the packages; uv downloads ",
                   "a Python only when no installed one has the version reticulate asks for."),
      "i" = paste0("Or choose a Python yourself: set {.envvar RETICULATE_PYTHON} to one with ",
                   "Keras and the core, or run {.run lrschedule::install_lrschedule()} ",
                   "(a virtualenv, with pip) and restart R.")))
  }
  c(head, cause,
    "i" = "Run {.run lrschedule::install_lrschedule()} and restart R, or set {.envvar RETICULATE_PYTHON} to a Python with Keras and the core.")
}

# What the messages interpolate; the shell commands are built here because cli's
# inline markup cannot hold the quotes that `'numpy<2'` needs. `core_source` is the
# folder of the core's sources that the R package ships.
problem_env <- function(facts) {
  python <- facts$python
  source <- shQuote(facts$core_source)
  # what install_lrschedule() installs, 'numpy<2' included where this reticulate needs it
  keras <- paste(shQuote(python_requirements(NULL)), collapse = " ")
  required <- as.character(python_state$declared)
  core_required <- required[startsWith(required, "lrschedule @")]
  list2env(c(facts, list(
    numpy_command = paste(python, "-m pip install 'numpy<2'"),
    keras_command = paste(python, "-m pip install", keras, source),
    core_command = paste(python, "-m pip install", source),
    require_command = paste0("reticulate::py_require(",
      encodeString(if (length(core_required)) core_required else
        core_requirement("<folder with the core's sources>"), quote = '"'), ")")
  )))
}

# The message (a cli template using `python`, `core_command`, `keras_command` and
# `require_command`) for a module that the Python in use does not have; `world` as
# python_world() says.
python_missing_module_problem <- function(module, world = "other") {
  what <- switch(module,
    lrschedule = "the Python core of lrschedule",
    keras = "Keras",
    numpy = "NumPy"
  )
  head <- paste0("The Python in use ({.path {python}}) does not have ", what,
                 " ({.pkg ", module, "}).")
  if (identical(world, "ephemeral")) {
    declared <- !is.null(python_state$declared)
    return(c(
      head,
      "i" = paste0("It is the environment reticulate built from the packages' ",
                   "{.fn reticulate::py_require} declarations. ",
                   if (declared) "lrschedule declared its core and Keras, yet it lacks them: see {.run reticulate::py_require()} for what was asked."
                   else "Python was started before {.code library(lrschedule)} could declare its core and Keras."),
      "i" = paste0("Restart R and attach lrschedule before anything starts Python; or, ",
                   "before Python starts, run {.code {require_command}}."),
      "i" = paste0("Or choose a Python yourself: {.run lrschedule::install_lrschedule()} ",
                   "(then restart R), or {.envvar RETICULATE_PYTHON}.")
    ))
  }
  install <- if (module == "lrschedule") "{.code {core_command}}" else "{.code {keras_command}}"
  chosen <- switch(world,
    RETICULATE_PYTHON = "It is the Python {.envvar RETICULATE_PYTHON} names; install it there with its pip (or unset {.envvar RETICULATE_PYTHON} and run {.run lrschedule::install_lrschedule()}):",
    virtualenv = "It is the virtualenv {.fn install_lrschedule} made; run {.run lrschedule::install_lrschedule()} again and restart R, or install it there:",
    "Run {.run lrschedule::install_lrschedule()} and restart R, or install it there:"
  )
  c(
    head,
    "i" = chosen,
    " " = install,
    if (!identical(world, "RETICULATE_PYTHON")) c(
      "i" = paste0("Or set {.envvar RETICULATE_PYTHON} to a Python that has Keras and the ",
                   "core, before R starts Python."))
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

# What install_lrschedule() puts in the virtualenv, and (but the core's folder)
# what library(lrschedule) declares with py_require() on reticulate >= 1.41: Keras
# (whose optimizer signatures R/optimizers-generated.R follows) and TensorFlow as its
# backend in the tested ranges, NumPy 1.x for reticulate < 1.36 (which cannot exchange
# arrays with NumPy 2), and the core of this very version, built from `core_source`.
# The ranges are spelled `~=` (">= from, below the next minor"): keras3's use_backend()
# removes earlier TensorFlow requests by a pattern that this spelling meets.
python_requirements <- function(core_source = shipped_core(), backend = TRUE,
                                reticulate = utils::packageVersion("reticulate")) {
  compatible <- function(package, module) {
    range <- tested_versions[[module]]
    from <- numeric_version(range[["from"]])
    stopifnot(identical(as.character(numeric_version(range[["below"]])),
                        paste(from[[1, 1]], from[[1, 2]] + 1L, sep = ".")))
    paste0(package, "~=", range[["from"]])
  }
  c(compatible("keras", "keras"),
    if (backend) compatible(tensorflow_distribution(), "tensorflow"),
    if (numeric_version(reticulate) < "1.36.0") "numpy<2",
    core_source)
}

# The TensorFlow distribution for this platform, as keras3 asks for it: the CPU-only
# build on Linux (no CUDA downloads), the one build elsewhere.
tensorflow_distribution <- function() {
  if (identical(Sys.info()[["sysname"]], "Linux")) "tensorflow-cpu" else "tensorflow"
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
  copy_core_sources(copy)
  copy
}

# Copies the shipped core's sources and the package's DESCRIPTION (whose version the
# build reads) into the folder `to`; TRUE when every file was copied.
copy_core_sources <- function(to) {
  all(file.copy(list.files(shipped_core(), full.names = TRUE), to, recursive = TRUE)) &&
    file.copy(system.file("DESCRIPTION", package = "lrschedule"), to)
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
#' its backend, NumPy 1.x where reticulate is older than 1.36 (which cannot exchange
#' arrays with NumPy 2), and the Python core of lrschedule that matches this R
#' package, built from the sources the R package ships (every way of installing
#' the R package carries them: no package registry is asked for the core). After a
#' restart of R,
#' `library(lrschedule)` uses it automatically (unless `RETICULATE_PYTHON` says
#' otherwise).
#'
#' With reticulate 1.41 or newer this is not needed: `library(lrschedule)`
#' declares Keras, TensorFlow and the core with `reticulate::py_require()`, and
#' reticulate builds an environment with them when no Python was chosen. Use it for
#' an older reticulate, or for a virtualenv of your own that outlives uv's cache.
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
#' NumPy, reticulate and the Python core, with the check that they fit together;
#' which kind of Python it is (`world`: the environment reticulate built from
#' `py_require()` declarations, the one `RETICULATE_PYTHON` names, the virtualenv
#' [install_lrschedule()] made, or another), and what lrschedule declared with
#' `reticulate::py_require()` (`required`; reticulate >= 1.41, no Python chosen).
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
    reticulate = as.character(utils::packageVersion("reticulate")),
    world = if (is.null(config)) NA_character_ else python_world(),
    required = declared_and_kept()
  )
  ok <- tryCatch(isTRUE(check_python_environment()), error = function(e) conditionMessage(e))
  cli::cli_h2("lrschedule situation report")
  worlds <- c(
    ephemeral = "the environment reticulate built with uv from py_require() declarations",
    RETICULATE_PYTHON = "the Python RETICULATE_PYTHON names",
    virtualenv = "the virtualenv install_lrschedule() made",
    other = "a Python chosen otherwise (use_python(), use_virtualenv(), conda, ...)")
  shown <- info
  if (!is.na(info$world)) shown$world <- paste0(info$world, ": ", worlds[[info$world]])
  if (is.na(info$required)) {
    shown$required <- if (can_py_require()) "nothing (a Python was chosen)" else
      paste0("nothing (reticulate ", info$reticulate, " has no py_require(): install_lrschedule())")
  }
  for (name in names(shown)) cli::cli_text("{.strong {name}}: {shown[[name]]}")
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

# --------------------------------------------------------------------------------------
# reticulate >= 1.41: the core declared with py_require(), as keras3 declares Keras.
# With no Python chosen, reticulate then builds (with uv) one environment holding
# every package's requirements, the core of this very version among them.

# A function of reticulate's that older releases lack (py_require() came in 1.41),
# looked up when called so that the package installs and checks on Debian 12's 1.28.
reticulate_function <- function(name) {
  ns <- asNamespace("reticulate")
  if (exists(name, envir = ns, inherits = FALSE)) get(name, envir = ns, inherits = FALSE)
}

can_py_require <- function() {
  utils::packageVersion("reticulate") >= "1.41.0" && !is.null(reticulate_function("py_require"))
}

# The requirements declared so far in this session (every package's), or NULL.
declared_requirements <- function() {
  py_require <- reticulate_function("py_require")
  if (is.null(py_require)) return(NULL)
  tryCatch(as.character(py_require()$packages), error = function(e) NULL)
}

# keras3 (and users) ask for Keras's backend by these distributions' names: when one
# is declared, lrschedule asks for none (two TensorFlow distributions share one import
# name, and a JAX or torch user wants no TensorFlow of lrschedule's).
backend_pattern <- "^(tensorflow(-cpu|-metal|-macos)?|jax|torch)(\\[[^]]*\\])?([=~<>!, ]|$)"

# The folder the core is built from: a copy of the shipped sources with the package's
# DESCRIPTION, under the user's cache folder, named by version and content. Stable
# across sessions (a new folder per session would make uv rebuild the core and a new
# environment every time), writable (setuptools writes build/ there; the package's own
# folder may be a read-only system library), and new when the sources change.
core_requirement_folder <- function(cache = tools::R_user_dir("lrschedule", "cache")) {
  source <- shipped_core()
  if (!is.null(shipped_core_problem(source))) return(NULL)
  # radix: the C locale's order, so that every session names the same folder
  files <- sort(list.files(source, recursive = TRUE), method = "radix")
  files <- files[!grepl("(^|/)(__pycache__|build|[^/]*\\.egg-info)(/|$)", files)]
  version <- as.character(utils::packageVersion("lrschedule"))
  key_file <- tempfile("lrschedule-key-")
  on.exit(unlink(key_file), add = TRUE)
  writeLines(c(version, paste(files, tools::md5sum(file.path(source, files)))), key_file)
  key <- substr(unname(tools::md5sum(key_file)), 1, 12)
  folder <- file.path(cache, "core", paste(version, key, sep = "-"))
  complete <- function() file.exists(file.path(folder, "python", "lrschedule", "__init__.py"))
  if (!complete()) {
    dir.create(dirname(folder), recursive = TRUE, showWarnings = FALSE)
    staging <- tempfile("staging-", tmpdir = dirname(folder))
    dir.create(staging)
    # another session may have made the same folder meanwhile: its copy is as good
    if (!copy_core_sources(staging) || !file.rename(staging, folder)) {
      unlink(staging, recursive = TRUE)
    }
  }
  if (complete()) folder
}

# The requirement string of the core in `folder`.
core_requirement <- function(folder) paste0("lrschedule @ file://", folder)

# Called by .onLoad: declares Keras, a backend (unless one is declared already) and the
# core, unless the user chose a Python (RETICULATE_PYTHON, or the virtualenv
# install_lrschedule() made, which .onLoad has just chosen): there reticulate uses that
# Python and lrschedule checks it as before. Starts no Python, and never fails the load.
declare_python_requirements <- function() {
  python_state$declared <- NULL
  if (!can_py_require() || !identical(python_world_chosen(), "none")) return(invisible(NULL))
  folder <- tryCatch(core_requirement_folder(), error = function(e) NULL)
  if (is.null(folder)) return(invisible(NULL))
  backend <- !any(grepl(backend_pattern, declared_requirements()))
  requirements <- python_requirements(core_requirement(folder), backend = backend)
  py_require <- reticulate_function("py_require")
  ok <- tryCatch({
    py_require(requirements)
    TRUE
  }, error = function(e) FALSE, warning = function(w) FALSE)
  if (ok) python_state$declared <- requirements
  invisible(requirements)
}

# What lrschedule declared and is still required (keras3's use_backend() replaces
# lrschedule's TensorFlow request by its own), as one string; NA when nothing was.
declared_and_kept <- function() {
  declared <- python_state$declared
  if (is.null(declared)) return(NA_character_)
  kept <- intersect(declared, declared_requirements())
  dropped <- setdiff(declared, kept)
  paste0(paste(kept, collapse = ", "),
         if (length(dropped)) paste0(" (", paste(dropped, collapse = ", "),
                                     " withdrawn: another package declared its own)"))
}

# The Python the user chose before lrschedule was loaded, if any: "RETICULATE_PYTHON",
# "virtualenv" (install_lrschedule()'s, chosen by .onLoad), or "none".
python_world_chosen <- function() {
  if (nzchar(Sys.getenv("RETICULATE_PYTHON"))) return("RETICULATE_PYTHON")
  if (isTRUE(python_state$virtualenv)) return("virtualenv")
  "none"
}
