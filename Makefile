# Everything bootstraps .venv itself: a fresh machine needs only `make demo` or `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# plates: ONNX Runtime for vehicle lanes; plate-models: EasyOCR and torch (its recogniser, training, baseline)
	$(BIN)/pip install --quiet -e '.[dev,plates,plate-models]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/qaqpa-sim demo --report var/demo-report.json

# the browser tests (tests/browser) drive Debian's Chromium through Playwright; never `playwright install`
APT := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get
browser:
	@test -x /usr/bin/chromium || $(APT) install -y chromium chromium-driver \
		|| { $(APT) update && $(APT) install -y chromium chromium-driver; }

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench qr
	$(BIN)/python -m bench sync
	$(BIN)/python -m bench ingest
	$(BIN)/python -m bench rfid
	$(BIN)/python -m bench lpr

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
