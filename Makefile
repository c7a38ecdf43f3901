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

.PHONY: setup install build test test-fast test-python test-r test-r-current test-backends \
	test-backend-jax test-backend-torch test-numpy2 test-numpy2-tf test-numpy2-jax test-install \
	test-legs demo bench check site site-check clean

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

# The Python tests are chosen by markers, never by file: each module declares its own
# (tests/python/conftest.py registers them, one line of meaning each; pytest.ini's
# --strict-markers fails a misspelt one). Every pytest leg lists its slowest tests.
PYTEST := -m pytest -q -p no:cacheprovider --durations=15
# JAX and torch: what runs in this process on KERAS_BACKEND's backend. Not the tests
# that cannot depend on it (backend_independent, checked by conftest's guard: run on
# TensorFlow), the R tests (R drives the same core, on TensorFlow), the jobs that name
# their backends themselves (distributed, multiprocess), TensorFlow's own questions.
ON_OTHER_BACKENDS := not backend_independent and not r and not distributed and not multiprocess \
	and not tensorflow_only
# The inner loop (a few minutes on a set-up .venv): TensorFlow, nothing slow, no R, no
# new processes.
FAST_TESTS := not slow and not r and not subprocess

# A leg's start and end in the log (`make test` prints each leg's output when it ends).
LEG_START = @echo "== $(notdir $@) started $$(date +%T)"
LEG_END   = @echo "== $(notdir $@) done $$(date +%T)"

# Legs that run side by side (`make test` sets LEG_THREADS=1) take one thread each:
# TensorFlow's pools, XLA's (JAX), OpenMP's (torch, R's BLAS). A leg alone takes the machine.
ifneq ($(LEG_THREADS),)
export TF_NUM_INTRAOP_THREADS := $(LEG_THREADS)
export TF_NUM_INTEROP_THREADS := $(LEG_THREADS)
export OMP_NUM_THREADS        := $(LEG_THREADS)
export OPENBLAS_NUM_THREADS   := $(LEG_THREADS)
export XLA_FLAGS              := --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=$(LEG_THREADS)
endif

# Everything, on TensorFlow (the R stack's backend).
test-python: $(STAMPS)/venv $(STAMPS)/r-package
	$(LEG_START)
	$(PY) $(PYTEST) tests/python
	$(LEG_END)

test-fast: $(STAMPS)/venv
	$(PY) $(PYTEST) -m "$(FAST_TESTS)" tests/python

test-r: $(STAMPS)/venv $(STAMPS)/r-package
	$(LEG_START)
	@if [ -f NAMESPACE ]; then Rscript -e 'testthat::test_local(".", reporter = "summary", stop_on_failure = TRUE, load_package = "installed")'; fi
	$(LEG_END)

# The tests that depend on the backend again on JAX and torch, each in its own process.
test-backends: test-backend-jax test-backend-torch

test-backend-jax test-backend-torch: test-backend-%: $(STAMPS)/venv
	$(LEG_START)
	KERAS_BACKEND=$* $(PY) $(PYTEST) -m "$(ON_OTHER_BACKENDS)" tests/python
	$(LEG_END)

# The stack pip users get (requirements-np2.txt: the newest Keras, TensorFlow and JAX with
# NumPy 2), in a virtualenv of its own with lrschedule installed as users install it
# (`pip install .`, not editable). No R there (Debian's reticulate 1.28 cannot use
# NumPy 2), nor the slow modules (property-based, callback properties, resume: the
# backends' arithmetic, which the legs above test), nor the project's tools. Otherwise
# the same choice as on NumPy 1: on TensorFlow everything, the backend-independent tests
# included (once under NumPy 2, the host-side NumPy they exercise: scalars, promotion,
# the messages' reprs), the distributed and two-process JAX jobs (test_multiprocess.py
# starts its JAX workers on this virtualenv's JAX); on JAX what depends on the backend.
NP2_VENV  := .venv-np2
NP2_TF_TESTS  := not slow and not r and not tooling
NP2_JAX_TESTS := $(ON_OTHER_BACKENDS) and not slow
# The core is built from a copy of its sources, so that this and the .venv set-up (which
# writes python/*.egg-info) never write into the same folders under `make -j`.
$(STAMPS)/venv-np2: requirements-np2.txt $(PY_SOURCES) DESCRIPTION $(STAMPS)/system
	test -x $(NP2_VENV)/bin/python || python3 -m venv $(NP2_VENV)
	$(NP2_VENV)/bin/python -m pip install -q --disable-pip-version-check -r requirements-np2.txt
	src=$$(mktemp -d) && trap 'rm -rf "$$src"' EXIT && \
	  cp -r python setup.py pyproject.toml DESCRIPTION README.md LICENSE "$$src"/ && \
	  $(NP2_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps --force-reinstall "$$src"
	@touch $@

test-numpy2: test-numpy2-tf test-numpy2-jax

test-numpy2-tf: $(STAMPS)/venv-np2
	$(LEG_START)
	KERAS_BACKEND=tensorflow $(NP2_VENV)/bin/python $(PYTEST) -m "$(NP2_TF_TESTS)" tests/python
	$(LEG_END)

test-numpy2-jax: $(STAMPS)/venv-np2
	$(LEG_START)
	KERAS_BACKEND=jax $(NP2_VENV)/bin/python $(PYTEST) -m "$(NP2_JAX_TESTS)" tests/python
	$(LEG_END)

# The R users run now: R 4.6 and reticulate 1.47 in a Debian unstable root (outside git
# and the R package; rebuilt when tools/r-current/root.sh, its package list, changes),
# with the testthat suite on NumPy 2, the py_require() route and the failure worlds
# (tools/r-current/test.sh says what and where the caches live).
R_CURRENT := .r-current/root
$(STAMPS)/r-current-root: tools/r-current/root.sh $(STAMPS)/system
	bash tools/r-current/root.sh build $(R_CURRENT)
	@touch $@

test-r-current: $(STAMPS)/r-current-root
	$(LEG_START)
	bash tools/r-current/test.sh $(R_CURRENT)
	$(LEG_END)

# Every leg, TEST_JOBS at a time (the machine's two cores; TEST_JOBS=1: one after
# another), each leg's output printed together when it ends. The legs share no state:
# pytest writes no cache and no bytecode, each build has its own folder. The set-up
# steps that download more than they compute (the NumPy-2 virtualenv, the R-current
# root) and the install routes (mostly pip) run beside the others; the longest legs are
# listed first, so that both lanes end about together. R CMD check skips what the legs
# have run: the tests (test-r), the vignette and the examples (site-check builds the
# vignette as the article and runs every example; `make check` alone does it all).
TEST_JOBS ?= 2
test: $(STAMPS)/venv $(STAMPS)/r-package
	$(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target LEG_THREADS=1 \
	  BUILD_ARGS="--no-build-vignettes" CHECK_ARGS="--no-tests --ignore-vignettes --no-examples" \
	  test-legs

test-legs: $(STAMPS)/r-current-root test-python test-backend-jax $(STAMPS)/venv-np2 \
	test-numpy2-tf test-r-current test-numpy2-jax test-r test-install test-wheel site-check \
	test-backend-torch check

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
# virtualenv, a new R session training (about 2.5 minutes, most of it pip): again when
# what it installs or the script changes.
INSTALL_ROUTES_INPUTS := tools/check-install-routes.sh .Rbuildignore $(R_SOURCES) $(PY_SOURCES) \
	$(wildcard inst/python/*)
test-install: $(STAMPS)/install-routes

$(STAMPS)/install-routes: $(INSTALL_ROUTES_INPUTS) $(STAMPS)/system
	$(LEG_START)
	bash tools/check-install-routes.sh
	$(LEG_END)
	@touch $@

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
	$(LEG_START)
	$(PY) tools/site/check.py site site-check
	$(LEG_END)

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
	$(LEG_START)
	rm -rf lrschedule_*.tar.gz build/source
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  mkdir -p build/source/lrschedule && \
	  git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -cf - -T - 2>/dev/null \
	    | tar -xf - -C build/source/lrschedule && \
	  (cd build/source && R CMD build $(BUILD_ARGS) lrschedule) && mv build/source/lrschedule_*.tar.gz . && \
	  rm -rf build/source; \
	else R CMD build $(BUILD_ARGS) .; fi
	$(LEG_END)

# R CMD check of that tarball; a WARNING fails it as an ERROR does. `make test` runs it
# without the tests (test-r runs the same testthat suite against the same sources),
# without building or running the vignette (site-check builds it as the site's article,
# which fails on a chunk's error) and without the examples (site-check runs every one on
# its reference page, which fails on an example's error): `make check` does it all.
CHECK_ARGS ?=
check: build
	$(LEG_START)
	rm -rf lrschedule.Rcheck
	_R_CHECK_FORCE_SUGGESTS_=false R CMD check --no-manual $(CHECK_ARGS) lrschedule_$(VERSION).tar.gz
	@if grep -Eq '^Status: .*(WARNING|ERROR)' lrschedule.Rcheck/00check.log; then \
	  echo "R CMD check reported a WARNING"; exit 1; fi
	$(LEG_END)

clean:
	bash tools/r-current/root.sh remove $(R_CURRENT)
	rm -rf $(STAMPS) $(RLIB) $(NP2_VENV) build dist *.egg-info python/*.egg-info lrschedule.Rcheck lrschedule_*.tar.gz \
	  site site-check pkgdown/assets/vendor
