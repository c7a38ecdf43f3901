# lrschedule: `make test` and `make demo` set everything up on a fresh Debian 12 machine
# (Debian packages, the .venv virtualenv, the R package in .rlib) and are safe to re-run:
# each set-up step is redone only when the files it depends on change.

SHELL      := /bin/bash
VENV       ?= .venv
PY         := $(VENV)/bin/python
RLIB       := .rlib
STAMPS     := .stamps
VERSION    := $(shell sed -n 's/^Version:[[:space:]]*//p' DESCRIPTION)

# R (through reticulate) and rpy2 must use the project's virtualenv, and R finds the
# package installed into the project-local library.
export RETICULATE_PYTHON := $(CURDIR)/$(PY)
export R_LIBS            := $(CURDIR)/$(RLIB)
export KERAS_BACKEND     ?= tensorflow
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONDONTWRITEBYTECODE := 1

PY_SOURCES := $(shell find python/lrschedule -name '*.py') pyproject.toml setup.py
R_SOURCES  := DESCRIPTION $(wildcard NAMESPACE R/*.R man/*.Rd inst/examples/* demo/*)

.PHONY: setup install build test test-python test-r test-r-current test-backends test-numpy2 test-install demo bench check site site-check clean

setup: $(STAMPS)/venv

install: $(STAMPS)/r-package

$(STAMPS)/system: tools/setup-system.sh
	bash tools/setup-system.sh
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/venv: requirements-dev.txt requirements-ref.txt requirements-ref-nodeps.txt pyproject.toml setup.py DESCRIPTION $(STAMPS)/system
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt -r requirements-ref.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-ref-nodeps.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@rm -rf build *.egg-info python/*.egg-info
	@touch $@

# The R package carries the core's sources (inst/python links to them) for
# install_lrschedule(): plain R CMD INSTALL / R CMD build need nothing made first.
$(STAMPS)/r-package: $(R_SOURCES) $(PY_SOURCES) $(STAMPS)/system
	@mkdir -p $(RLIB)
	@if [ -f NAMESPACE ]; then R CMD INSTALL --no-multiarch --library=$(RLIB) . >$(STAMPS)/r-install.log 2>&1 \
	  || { cat $(STAMPS)/r-install.log; exit 1; }; fi
	@touch $@

test-python: $(STAMPS)/venv
	$(PY) -m pytest tests/python -q

test-r: $(STAMPS)/venv $(STAMPS)/r-package
	@if [ -f NAMESPACE ]; then Rscript -e 'testthat::test_local(".", reporter = "summary", stop_on_failure = TRUE, load_package = "installed")'; fi

# The core's schedule and callback tests again on the JAX and torch backends, each in its
# own process (the R-surface and R-session tests run on TensorFlow only: R drives the same core).
BACKEND_TESTS := $(filter-out tests/python/test_r_% tests/python/test_sessions.py tests/python/test_distributed.py tests/python/test_multiprocess.py tests/python/test_site_check.py,$(wildcard tests/python/test_*.py))
test-backends: $(STAMPS)/venv
	KERAS_BACKEND=jax $(PY) -m pytest $(BACKEND_TESTS) -q -p no:cacheprovider
	KERAS_BACKEND=torch $(PY) -m pytest $(BACKEND_TESTS) -q -p no:cacheprovider

# The stack pip users get (requirements-np2.txt: the newest Keras, TensorFlow and JAX with
# NumPy 2), in a virtualenv of its own with lrschedule installed as users install it
# (`pip install .`, not editable): the core, callback and distributed tests on
# TensorFlow and JAX. No R there (Debian's reticulate 1.28 cannot use NumPy 2).
NP2_VENV  := .venv-np2
NP2_TESTS := $(addprefix tests/python/,test_schedules.py test_inspection.py test_validation.py \
	test_bad_input.py test_tables.py test_callbacks.py test_rate_state.py \
	test_keras_callback_cases.py test_current.py test_lr_finder.py test_saved_files.py \
	test_per_layer.py test_accumulation.py test_distributed.py)
# The core is built from a copy of its sources, so that this and the .venv set-up (which
# writes python/*.egg-info) never write into the same folders under `make -j`.
$(STAMPS)/venv-np2: requirements-np2.txt $(PY_SOURCES) DESCRIPTION $(STAMPS)/system
	test -x $(NP2_VENV)/bin/python || python3 -m venv $(NP2_VENV)
	$(NP2_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-np2.txt
	src=$$(mktemp -d) && trap 'rm -rf "$$src"' EXIT && \
	  cp -r python setup.py pyproject.toml DESCRIPTION README.md LICENSE "$$src"/ && \
	  $(NP2_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps --force-reinstall "$$src"
	@touch $@

# The JAX run takes the modules above but three (test_distributed.py runs its TensorFlow
# and JAX workers from the TensorFlow run; find_lr and Keras's callback cases run on JAX
# in test-backends) and adds the momentum optimizers, which lean on Keras's optimizer
# internals. The TensorFlow run takes the modules whose host-side NumPy meets
# TensorFlow's tensors: schedules, callbacks, the rate state, saved files, distribution;
# and the two-process JAX jobs (test_multiprocess.py starts its JAX workers itself, on
# this virtualenv's JAX; its R-driven job is skipped: R's reticulate uses .venv).
# The property-based, callback-property and resume modules, the slowest, exercise the
# backends' arithmetic, which the R stack's legs test: they are left out here.
NP2_JAX_SKIP := %test_distributed.py %test_lr_finder.py %test_keras_callback_cases.py
NP2_TF_TESTS := $(addprefix tests/python/,test_schedules.py test_callbacks.py 	test_rate_state.py test_saved_files.py test_distributed.py test_multiprocess.py)
test-numpy2: $(STAMPS)/venv-np2
	KERAS_BACKEND=tensorflow $(NP2_VENV)/bin/python -m pytest -q -p no:cacheprovider $(NP2_TF_TESTS)
	KERAS_BACKEND=jax $(NP2_VENV)/bin/python -m pytest -q -p no:cacheprovider $(filter-out $(NP2_JAX_SKIP),$(NP2_TESTS)) tests/python/test_momentum.py

# The R users run now: R 4.6 and reticulate 1.47 in a Debian unstable root (outside git
# and the R package; rebuilt when tools/r-current/root.sh, its package list, changes),
# with the testthat suite on NumPy 2, the py_require() route and the failure worlds
# (tools/r-current/test.sh says what and where the caches live).
R_CURRENT := .r-current/root
$(STAMPS)/r-current-root: tools/r-current/root.sh $(STAMPS)/system
	bash tools/r-current/root.sh build $(R_CURRENT)
	@touch $@

test-r-current: $(STAMPS)/r-current-root
	bash tools/r-current/test.sh $(R_CURRENT)

# R tests first, other backends next, so that the full TensorFlow pytest run closes it;
# then the routes by which users install the R package, the documentation site (every
# example and the vignette run, every page opened in Chromium), and R CMD check.
# The R tests run beside the set-up of the NumPy-2 virtualenv and the R-current root
# (downloads and unpacking more than computing), each leg's output kept together.
test: $(STAMPS)/venv $(STAMPS)/r-package
	$(MAKE) --no-print-directory -j3 --output-sync=target test-r $(STAMPS)/venv-np2 \
	  $(STAMPS)/r-current-root
	$(MAKE) --no-print-directory test-backends
	$(MAKE) --no-print-directory test-python
	$(MAKE) --no-print-directory test-numpy2
	$(MAKE) --no-print-directory test-install
	$(MAKE) --no-print-directory test-r-current
	$(MAKE) --no-print-directory site-check
	$(MAKE) --no-print-directory check BUILD_ARGS="--no-build-vignettes" \
	  CHECK_ARGS="--no-tests --ignore-vignettes"

# The Python package as pip users get it (tools/check-wheel.sh): the sdist and the wheel
# built from it (python -m build), twine check, their contents, then the wheel with
# TensorFlow (the floors' versions) in a fresh virtualenv running README's Python example
# (about 2 minutes, most of it pip). Rerun when what goes into the package changes.
.PHONY: test-wheel
test-wheel: $(STAMPS)/wheel

$(STAMPS)/wheel: tools/check-wheel.sh $(PY_SOURCES) python/lrschedule/py.typed DESCRIPTION \
		README.md LICENSE requirements-dev.txt $(STAMPS)/venv
	bash tools/check-wheel.sh $(PY)
	@touch $@

# A plain clone, R CMD INSTALL . and R CMD build ., install_lrschedule() into a fresh
# virtualenv, a new R session training (about 2.5 minutes, most of it pip).
test-install: $(STAMPS)/system
	bash tools/check-install-routes.sh

# The documentation site (site/): pkgdown's home (README), a reference page per export
# with its examples run, the vignette as the article, NEWS, and the Python API from the
# core's docstrings (pdoc). Offline: see tools/site/build.R and fetch_assets.py.
SITE_SOURCES := _pkgdown.yml README.md NEWS.md $(wildcard vignettes/*.Rmd pkgdown/templates/* pkgdown/assets/* pkgdown/favicon/* man/figures/*) tools/site/build.R tools/site/pdoc/module.html.jinja2
PDOC_MODULES := lrschedule lrschedule.schedules lrschedule.callbacks lrschedule.inspection lrschedule.recipes lrschedule.warnings \
	lrschedule.lr_finder lrschedule.optimizers
site: $(STAMPS)/site

$(STAMPS)/site-assets: tools/site/fetch_assets.py $(STAMPS)/venv
	rm -rf pkgdown/assets/vendor
	$(PY) tools/site/fetch_assets.py pkgdown/assets/vendor
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/site: $(STAMPS)/r-package $(STAMPS)/venv $(STAMPS)/site-assets $(SITE_SOURCES) $(PY_SOURCES)
	rm -rf site
	Rscript tools/site/build.R
	PDOC_ALLOW_EXEC=1 $(PY) -m pdoc $(PDOC_MODULES) --docformat google -t tools/site/pdoc -o site/python
	@touch $@

# Every page of the site in headless Chromium (tools/site/check.py); screenshots of the
# home page, a reference page, the article and the Python API to site-check/.
site-check: $(STAMPS)/venv $(STAMPS)/site
	$(PY) tools/site/check.py site site-check

demo: $(STAMPS)/venv $(STAMPS)/r-package
	Rscript inst/examples/demo.R

# Benchmarks, not tests: figures for README's Performance section (about 9 minutes).
bench: $(STAMPS)/venv $(STAMPS)/r-package
	@mkdir -p bench/out
	$(PY) bench/bench_steps.py | tee bench/out/python.txt
	KERAS_BACKEND=jax $(PY) bench/bench_rate_state.py | tee bench/out/jax-and-tables.txt
	Rscript bench/bench_r.R | tee bench/out/r.txt

# The R source package, as plain `R CMD build .` makes it in a clone (the core's sources
# inside). In a git checkout it is built from a copy of the files a clone has (tracked
# files and new ones git does not ignore, as they are in the working tree): R CMD build
# copies the whole directory before dropping what .Rbuildignore names, and here that
# is gigabytes of virtualenvs and the site (two minutes of copying).
BUILD_ARGS ?=
build: $(STAMPS)/system $(STAMPS)/venv
	rm -rf lrschedule_*.tar.gz build/source
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  mkdir -p build/source/lrschedule && \
	  git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -cf - -T - 2>/dev/null \
	    | tar -xf - -C build/source/lrschedule && \
	  (cd build/source && R CMD build $(BUILD_ARGS) lrschedule) && mv build/source/lrschedule_*.tar.gz . && \
	  rm -rf build/source; \
	else R CMD build $(BUILD_ARGS) .; fi

# R CMD check of that tarball; a WARNING fails it as an ERROR does. `make test` runs it
# without the tests (test-r has just run the same testthat suite against the same
# sources) and without building or running the vignette (site-check has just built it
# as the site's article, which fails on a chunk's error): `make check` does it all.
CHECK_ARGS ?=
check: build
	rm -rf lrschedule.Rcheck
	_R_CHECK_FORCE_SUGGESTS_=false R CMD check --no-manual $(CHECK_ARGS) lrschedule_$(VERSION).tar.gz
	@if grep -Eq '^Status: .*(WARNING|ERROR)' lrschedule.Rcheck/00check.log; then \
	  echo "R CMD check reported a WARNING"; exit 1; fi

clean:
	bash tools/r-current/root.sh remove $(R_CURRENT)
	rm -rf $(STAMPS) $(RLIB) $(NP2_VENV) build dist *.egg-info python/*.egg-info lrschedule.Rcheck lrschedule_*.tar.gz \
	  site site-check pkgdown/assets/vendor
