#!/usr/bin/env bash
# `make test-r-current`: lrschedule on the R users run now (R 4.6, reticulate 1.47, in
# the Debian unstable root tools/r-current/root.sh builds), from this tree's files:
#
#   (a) the testthat suite against a virtualenv on NumPy 2 (reticulate >= 1.36
#       exchanges arrays with NumPy 2; Debian 12's 1.28 needs NumPy 1.x);
#   (b) the py_require() route in new R processes with no Python chosen
#       (tests/r-current/test-py-require.R), reticulate building its environment with uv;
#   (c) the messages of the failure worlds (tests/r-current/test-failure-worlds.R).
#
# Caches live in the root (its /root/.cache: pip's, uv's, reticulate's and the core's
# build folder), so a second run downloads nothing; the root is rebuilt, caches and
# all, when root.sh changes.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(realpath -m "$1")
run() { bash tools/r-current/root.sh run "$root" "$@"; }
step() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }
started=$(date +%s)

step "the R package from this tree, installed in the root"
rm -rf "$root/src/lrschedule"
mkdir -p "$root/src/lrschedule"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -cf - -T - 2>/dev/null \
    | tar -xf - -C "$root/src/lrschedule"
else
  tar --exclude=./.r-current --exclude=./.venv --exclude=./.venv-np2 -cf - . | tar -xf - -C "$root/src/lrschedule"
fi
run bash -c 'R CMD INSTALL --no-multiarch -l /usr/local/lib/R/site-library /src/lrschedule \
  >/tmp/lrschedule-install.log 2>&1 || { cat /tmp/lrschedule-install.log; exit 1; }'
run Rscript -e 'cat(R.version.string, "| reticulate", format(packageVersion("reticulate")),
  "| testthat", format(packageVersion("testthat")), "\n")'

step "(a) a virtualenv on NumPy 2 (pins of requirements-np2.txt) with the core"
pins=$(grep -E '^(numpy|keras|tensorflow-cpu)==' requirements-np2.txt | tr '\n' ' ')
run bash -c "test -x /opt/lrs-np2/bin/python || python3.13 -m venv /opt/lrs-np2
  /opt/lrs-np2/bin/python -m pip install -q --disable-pip-version-check $pins
  cp -rL /usr/local/lib/R/site-library/lrschedule/python /tmp/core && \
    cp /usr/local/lib/R/site-library/lrschedule/DESCRIPTION /tmp/core/ && \
    /opt/lrs-np2/bin/python -m pip install -q --disable-pip-version-check --no-deps \
      --force-reinstall /tmp/core; status=\$?; rm -rf /tmp/core; exit \$status"

step "(a) the testthat suite on R 4.6, reticulate 1.47, NumPy 2"
run env RETICULATE_PYTHON=/opt/lrs-np2/bin/python Rscript -e 'testthat::test_local(
  "/src/lrschedule", reporter = "summary", stop_on_failure = TRUE, load_package = "installed")'

step "(b, c) the py_require() route and the failure worlds, each in a new R process"
run Rscript -e 'testthat::test_dir("/src/lrschedule/tests/r-current", package = "lrschedule",
  load_package = "installed", reporter = "summary", stop_on_failure = TRUE)'

step "done in $(( $(date +%s) - started )) s"
