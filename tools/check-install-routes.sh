#!/usr/bin/env bash
# The routes by which an R user installs lrschedule before it is on CRAN, as a user takes
# them: nothing made by the Makefile, no Python package on a registry, no RETICULATE_PYTHON.
#
#   1. a plain clone (the tracked files of this tree, symbolic links kept);
#   2. `R CMD INSTALL .` in it, into an empty library;
#   3. `R CMD build .` in it, then `R CMD INSTALL` of that tarball, into another library:
#      both routes must install the same core sources;
#   4. `install_lrschedule()` in a new R session, into a fresh virtualenv (a private
#      WORKON_HOME), building the core from the sources the R package carries;
#   5. a new R session finds that virtualenv by itself and trains with a schedule at the
#      schedule's rates.
#
# Run by `make test` (test-install). Needs the package index (install_lrschedule() asks
# pip for Keras and TensorFlow) and the Debian packages tools/setup-system.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d "${TMPDIR:-/tmp}/lrschedule-routes.XXXXXX")
trap 'rm -rf "$work"' EXIT
# What a user's shell has: none of the Makefile's settings.
unset RETICULATE_PYTHON RETICULATE_PYTHON_ENV PYTHONPATH VIRTUAL_ENV
export R_LIBS_USER="$work/no-user-library"
export WORKON_HOME="$work/virtualenvs"
export TF_CPP_MIN_LOG_LEVEL=3
step() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }

step "a plain clone"
mkdir "$work/clone"
git ls-files -z | tar --null -cf - -T - | tar -xf - -C "$work/clone"

step "R CMD INSTALL . from the clone"
mkdir "$work/lib-install"
(cd "$work/clone" && R_LIBS="$work/lib-install" R CMD INSTALL --no-multiarch \
  --library="$work/lib-install" . >"$work/install.log" 2>&1) || { cat "$work/install.log"; exit 1; }
test -f "$work/lib-install/lrschedule/python/python/lrschedule/__init__.py"

step "R CMD build . in the clone, then R CMD INSTALL of the tarball"
mkdir "$work/lib-tarball" "$work/build"
(cd "$work/build" && R CMD build --no-build-vignettes "$work/clone" >"$work/build.log" 2>&1) \
  || { cat "$work/build.log"; exit 1; }
R CMD INSTALL --no-multiarch --library="$work/lib-tarball" "$work"/build/lrschedule_*.tar.gz \
  >"$work/install-tarball.log" 2>&1 || { cat "$work/install-tarball.log"; exit 1; }
diff -r "$work/lib-install/lrschedule/python" "$work/lib-tarball/lrschedule/python"
echo "both routes install the same core sources"

step "install_lrschedule() in a new R session, into a fresh virtualenv"
export R_LIBS="$work/lib-tarball"
Rscript -e 'lrschedule::install_lrschedule()'

step "a new R session finds the virtualenv and trains with a schedule"
Rscript - <<'EOF'
library(lrschedule)
lrschedule_sitrep()
python <- reticulate::py_config()$python
cat("python", python, "\n")
stopifnot(startsWith(python, file.path(Sys.getenv("WORKON_HOME"), "lrschedule")))
keras <- reticulate::import("keras")
model <- keras$Sequential(list(keras$Input(shape = list(1L)),
  keras$layers$Dense(1L, use_bias = FALSE, kernel_initializer = "zeros")))
# SGD on mean absolute error towards a far target: each step moves the weight by the rate
model$compile(optimizer = optimizer_sgd(learning_rate = schedule_step_decay(0.1, 2, 0.5)),
              loss = "mean_absolute_error")
invisible(model$fit(matrix(1, 6, 1), matrix(-1000, 6, 1), batch_size = 1L, epochs = 1L,
          shuffle = FALSE, verbose = 0L))
kernel <- as.numeric(model$get_weights()[[1]])
expected <- -sum(0.1 * 0.5^floor(0:5 / 2))
cat("kernel", kernel, "expected", expected, "\n")
stopifnot(abs(kernel - expected) < 1e-5 * abs(expected))
cat("trained at the schedule's rates\n")
EOF
step "done"
