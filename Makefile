# smmu-rig: the two commands are `make bench` and `make test`.
# Both install what is missing first (Debian packages, the virtualenv), then run.

PYTHON     ?= python3
VENV       ?= .venv
VPY        := $(VENV)/bin/python
KERNEL     ?=
KERNEL_SRC ?=
REF        ?=
QEMU_SRC   ?=
ARGS       ?=
RUN        ?= results/latest
PYTEST_ARGS ?=

# REF="A B" compares two commits of KERNEL_SRC (A the baseline); one REF builds that one.
KSRC_ARG := $(if $(KERNEL),--kernel $(KERNEL),) $(if $(KERNEL_SRC),--kernel-src $(KERNEL_SRC),) \
            $(foreach ref,$(REF),--ref $(ref)) $(if $(QEMU_SRC),--qemu-src $(QEMU_SRC),)
GOOD       ?=
BAD        ?=

CELL       ?=
HISTORY    ?= results/history.sqlite
RUNS       ?= $(wildcard results/2*/)

.PHONY: bisect bench test unit e2e lint report build shell qemu qemu-peer prereqs prereqs-test venv clean-venv \
        matrix matrix-json matrix-keys matrix-cell history trend test-workflow

bench: prereqs venv
	$(VPY) -m rig bench $(KSRC_ARG) $(ARGS)

# The first commit between GOOD and BAD of KERNEL_SRC that made unmap (ARGS: --metric,
# --size) slower, or with ARGS=--correctness the first that fails a check.
bisect: prereqs venv
	$(VPY) -m rig bisect --kernel-src $(KERNEL_SRC) $(GOOD) $(BAD) $(ARGS)

build: prereqs venv
	$(VPY) -m rig build $(KSRC_ARG) $(ARGS)

# QEMU (Debian's newest source, or QEMU_SRC=) with the MMU-500 model from qemu/, and
# the model's qtest (profiles build it themselves when needed; this builds it ahead).
qemu: prereqs venv
	$(VPY) -m rig qemu $(if $(QEMU_SRC),--qemu-src $(QEMU_SRC),)

# QEMU's own aarch64 qtests on the rig's QEMU and on the same QEMU without the rig's
# files and patches: fails on a test only the rig's build fails (builds both if missing).
qemu-peer: prereqs-test venv
	$(VPY) -m rig qemu-peer

shell: prereqs venv
	$(VPY) -m rig shell $(KSRC_ARG) $(ARGS)

report: venv
	$(VPY) -m rig report $(RUN)

# The nightly matrix (nightly.yaml), and what its CI jobs call (.github/workflows/nightly.yml).
matrix: prereqs venv
	$(VPY) -m rig matrix $(ARGS)

matrix-json: venv
	@$(VPY) -m rig matrix --json

matrix-keys: venv
	@$(VPY) -m rig matrix --cell $(CELL) --keys

matrix-cell: prereqs venv
	$(VPY) -m rig matrix --cell $(CELL) $(ARGS)

# Run folders -> the history (idempotent), then its change points and trend report.
history: venv
	$(VPY) -m rig merge $(RUNS) --history $(HISTORY)

trend: venv
	$(VPY) -m rig trend --history $(HISTORY) $(ARGS)

# The tests run TEST_JOBS at a time (pytest-xdist; a test file stays on one worker, and
# every test writes only its own temporary folders): the end-to-end ones boot under
# icount, whose results do not depend on host load. Tests marked serial (their reason is
# in the mark: a wall-clock bound, QEMU's own timed suite) run after them, alone. Both
# phases always run; the target fails if either did (exit 5: no test selected).
TEST_JOBS  ?= $(shell nproc)
test: prereqs-test venv lint
	@rc=0; \
	$(VPY) -m pytest -n $(TEST_JOBS) --dist loadfile -m "not serial and not workflow" $(PYTEST_ARGS) || rc=$$?; \
	[ $$rc -eq 5 ] && rc=0; serial=0; \
	$(VPY) -m pytest -m "serial and not workflow" $(PYTEST_ARGS) || serial=$$?; \
	[ $$serial -eq 5 ] && serial=0; \
	[ $$rc -eq 0 ] && [ $$serial -eq 0 ]

unit: venv
	$(VPY) -m pytest -m "not e2e and not workflow" $(PYTEST_ARGS)

# The real .github/workflows/nightly.yml, run for four nights in fresh Debian 12 roots
# (tests/workflow/; needs root; about 40 minutes).
test-workflow: prereqs venv
	$(VPY) -m pytest -m workflow -v $(PYTEST_ARGS)

e2e: prereqs venv
	$(VPY) -m pytest -m e2e $(PYTEST_ARGS)

SHELL_SCRIPTS := .ci/run .ci/fresh-root rig/build/guest_init.sh

lint: prereqs-test venv
	$(VPY) -m ruff check rig tests
	$(VPY) -m ruff format --check rig tests
	$(VPY) -m mypy
	shellcheck $(SHELL_SCRIPTS)
	$(VENV)/bin/actionlint .github/workflows/nightly.yml

prereqs:
	$(PYTHON) -m rig.build.prereqs

# What bench needs, plus what only the tests use (chromium for the report.html test,
# shellcheck for lint).
prereqs-test:
	$(PYTHON) -m rig.build.prereqs --tests

# The virtualenv is rebuilt only when the pins change.
venv: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --disable-pip-version-check -r requirements.lock
	touch $@

clean-venv:
	rm -rf $(VENV)
