#' lrschedule: learning-rate schedules and callbacks for Keras 3
#'
#' Learning-rate schedules (one-cycle, cyclic, warmup-stable-decay, inverse
#' square root, warmup and sequence wrappers, R functions tabulated into
#' schedules), Keras's own schedules, optimizers that take them, and
#' learning-rate callbacks, from one Python core reached through reticulate.
#'
#' `library(lrschedule)` starts no Python. The first call that needs Python
#' finds one that has Keras and the matching `lrschedule` core:
#' `RETICULATE_PYTHON` when set, otherwise the virtualenv that
#' [install_lrschedule()] created, otherwise (reticulate >= 1.41) the environment
#' reticulate builds with uv from the packages' `reticulate::py_require()`
#' declarations, to which `library(lrschedule)` adds Keras, TensorFlow (unless a
#' backend was declared) and the core. [lrschedule_sitrep()] tells which.
#'
#' @keywords internal
#' @importFrom rlang .data
"_PACKAGE"

# Module handles, filled in by .onLoad with delay-loaded imports.
lrs_core <- NULL
keras_module <- NULL
np_module <- NULL

# Whether the Python side passed check_python_environment() in this session.
python_state <- new.env(parent = emptyenv())

.onLoad <- function(libname, pkgname) {
  use_installed_environment()
  declare_python_requirements()
  # TensorFlow's C++ start-up chatter buries R's output; quiet it unless the user chose.
  if (is.na(Sys.getenv("TF_CPP_MIN_LOG_LEVEL", unset = NA))) {
    Sys.setenv(TF_CPP_MIN_LOG_LEVEL = "2")
  }
  # No on_load/on_error here: reticulate runs those once only, so a second call after
  # a failed check would go on with a broken environment. ensure_python() checks
  # before any module is touched, on every call until the check passes.
  lrs_core <<- reticulate::import("lrschedule", delay_load = TRUE)
  keras_module <<- reticulate::import("keras", delay_load = TRUE)
  np_module <<- reticulate::import("numpy", convert = FALSE, delay_load = TRUE)
  reticulate::register_class_filter(schedule_class_filter)
  register_schedule_methods(keras_schedule_classes)
  register_core_with_keras()
  # keras3's history: registered after keras3's own plot method, whichever loads first
  # (a package's load hooks run after its S3 methods are registered).
  if (isNamespaceLoaded("keras3")) register_keras3_methods()
  else setHook(packageEvent("keras3", "onLoad"), register_keras3_methods)
}

# --------------------------------------------------------------------------------------
# Keras must know the core's classes before it deserializes a model that uses them:
# `load_model()` as the first call of a new R session, through reticulate or keras3.
# The core registers them when it is imported, so it is imported as soon as Keras is,
# whoever imports Keras, and without starting Python at library().

register_core_with_keras <- function() {
  if (reticulate::py_available(initialize = FALSE)) {
    # Python already runs (another package, or R embedded in Python by rpy2).
    watch_keras()
  } else {
    setHook("reticulate.onPyInit", watch_keras)
  }
}

# Runs once Python runs: now if Keras is imported already (e.g. before reticulate
# attached to a Python that rpy2 started, when reticulate's import hook never fires),
# else when Keras is first imported, by anyone, nested imports included.
watch_keras <- function() {
  if (keras_imported()) {
    import_core()
  } else {
    setHook("reticulate::keras::load", import_core)
  }
}

keras_imported <- function() {
  isTRUE(tryCatch(
    reticulate::py_eval("'keras' in __import__('sys').modules"),
    error = function(e) FALSE
  ))
}

# Imports the core (registering its classes with Keras). Hooks must not fail: when the
# Python in use cannot serve the core, a warning says so and what to run.
import_core <- function() {
  if (isTRUE(python_state$core_imported)) return(invisible(TRUE))
  if (isTRUE(python_state$checking)) {
    # inside ensure_python()'s check: it imports the core when the check passes, and
    # raises the one error when it fails
    python_state$core_pending <- TRUE
    return(invisible(FALSE))
  }
  ok <- tryCatch(
    {
      ensure_python()
      lrs_core$`__version__`
      register_schedule_methods(keras_schedule_class_in_use())
      route_core_warnings()
      TRUE
    },
    error = function(e) {
      # One line of the cause, not the whole message again: the first lrschedule call
      # raises that, with its remedy.
      cause <- strsplit(cli::ansi_strip(conditionMessage(e)), "\n", fixed = TRUE)[[1]][[1]]
      warning(paste0(
        "Keras was imported, but lrschedule's Python core could not be loaded, so Keras ",
        "cannot load models that use lrschedule's schedules or callbacks (", cause, "). ",
        "lrschedule_sitrep() says why and what to run."
      ), call. = FALSE)
      FALSE
    }
  )
  python_state$core_imported <- ok
  invisible(ok)
}

# The core's warnings (a schedule's horizon that does not match the fit, a schedule
# counted in micro-batches) are raised while Keras trains, inside `fit()`: routed here
# they arrive as R warnings, of class "lrschedule_horizon_warning" and
# "lrschedule_accumulation_warning" (muffled by suppressWarnings(), and the horizon
# check by options(lrschedule.horizon_check = FALSE)). Not when R is embedded in a
# Python (rpy2): there Python's own warnings are the host's.
route_core_warnings <- function() {
  embedded <- isTRUE(tryCatch(
    reticulate::py_eval("'rpy2' in __import__('sys').modules"),
    error = function(e) FALSE
  ))
  if (!embedded) {
    reticulate::import("lrschedule.warnings")$set_warning_handler(core_warning)
  }
  invisible(!embedded)
}

core_warning <- function(message, category) {
  if (identical(category, "HorizonWarning") &&
      isFALSE(getOption("lrschedule.horizon_check", TRUE))) {
    return(invisible(NULL))
  }
  class <- paste0("lrschedule_", tolower(gsub("([a-z])([A-Z])", "\\1_\\2", category)))
  rlang::warn(message, class = class)
  invisible(NULL)
}

# --------------------------------------------------------------------------------------
# print/format/plot/as.data.frame for every Keras LearningRateSchedule, however it
# reached R. The class filter gives objects made after library(lrschedule) the stable
# class "lrschedule_schedule"; an object made before (by keras3, or by reticulate with
# the filter not yet registered) only has the Python class names reticulate gave it, so
# the methods are registered for Keras's own base class too: its path as of Keras 3.0
# to 3.15 at load time, and the path of the Keras in use once Keras is imported.

keras_schedule_classes <- "keras.src.optimizers.schedules.learning_rate_schedule.LearningRateSchedule"

keras_schedule_class_in_use <- function() {
  base <- keras_module$optimizers$schedules$LearningRateSchedule
  attr <- function(name) reticulate::py_to_r(reticulate::py_get_attr(base, name))
  paste(attr("__module__"), attr("__name__"), sep = ".")
}

register_schedule_methods <- function(classes) {
  ns <- asNamespace("lrschedule")
  for (class in classes) {
    for (generic in c("format", "print", "plot", "as.data.frame")) {
      registerS3method(generic, class, get(paste0(generic, ".lrschedule_schedule"), envir = ns),
                       envir = ns)
    }
  }
}

# Accessors: the first one used checks the environment, then starts the import.
lrs <- function() {
  ensure_python()
  lrs_core
}
keras <- function() {
  ensure_python()
  keras_module
}
np <- function() {
  ensure_python()
  np_module
}

# Every Keras LearningRateSchedule reaching R (ours, Keras's own, one read back from an
# optimizer) gets the stable class the print/format/plot/as.data.frame methods use,
# whatever Keras's private module path is.
schedule_class_filter <- function(classes) {
  if (!"lrschedule_schedule" %in% classes &&
      any(grepl("^keras\\.(.*\\.)?LearningRateSchedule$", classes))) {
    classes <- c("lrschedule_schedule", classes)
  }
  classes
}
