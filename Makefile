# Panoled: `make run` starts the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install dev translations extract-messages migration clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed translations

dev: $(VENV)/.installed-dev translations

# Compiled catalogues are build output: made from the .po files on every run.
translations: $(VENV)/.installed
	$(BIN)/pybabel -q compile -d cms/translations

# For developers adding strings: refresh the catalogue template and the .po files.
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k PanoledError -k ValidationFailed -k NotFound \
	  -k Conflict -k PlanReadError -k WeakPassword -k TransitionNotAllowed -k InvalidCredentials \
	  -k LoginThrottled -k MediaNotAccepted -k ApprovalNotAllowed -k MediaRejected:2 -k AdapterOptionsInvalid:2 -k ArchiveFailed -k BackupFailed -o cms/translations/messages.pot .
	$(BIN)/pybabel -q update -i cms/translations/messages.pot -d cms/translations

# For developers changing models: write the next Alembic migration.
migration: $(VENV)/.installed
	$(BIN)/python -c 'import sys; from cms.database import new_migration; new_migration(sys.argv[1])' "$(MESSAGE)"

run: install
	$(BIN)/panoled demo

# Test workers: one per core by default; CI runs one more, as many tests wait on
# Chromium, gunicorn, PostgreSQL or WordPress rather than compute.
PYTEST_WORKERS ?= auto

test: dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
