# Two commands a fresh machine needs: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint install clean browser soak faults fuzz vendor

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Apache ECharts for the console's charts, served from /static (no CDN: intranets): the
# npm registry's own package at the version console/vendor/package-lock.json pins (npm ci
# checks its sha512), installed in var/npm (outside the Python packages) and copied with
# its LICENSE and NOTICE into console/static/vendor/.
ECHARTS := console/static/vendor/echarts/echarts.min.js
NPM_DIR := var/npm
$(ECHARTS): console/vendor/package.json console/vendor/package-lock.json
	mkdir -p $(NPM_DIR) $(@D)
	cp console/vendor/package.json console/vendor/package-lock.json $(NPM_DIR)/
	cd $(NPM_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	cp $(NPM_DIR)/node_modules/echarts/dist/echarts.min.js $(NPM_DIR)/node_modules/echarts/LICENSE $(NPM_DIR)/node_modules/echarts/NOTICE $(@D)/
	cp $(NPM_DIR)/node_modules/zrender/LICENSE $(@D)/LICENSE-zrender

vendor: $(ECHARTS)

install: $(STAMP) vendor

run: $(STAMP) vendor
	$(BIN)/yuqing run --demo

# TEST_WORKERS=0 runs the suite in one process (easier to read a failure).
TEST_WORKERS ?= 3
test: $(STAMP) vendor browser
	$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist worksteal --durations=15

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf var/*.db var/*.db-* var/index.sqlite* var/models var/demo

# Debian packages the tests use, installed only when missing and only as root (otherwise
# those tests skip with the reason): headless Chromium for the console's browser tests,
# the CJK TrueType font PDF briefs embed (fonts-wqy-microhei), poppler to read them back.
browser:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || missing="$$missing chromium chromium-driver"; \
	[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing="$$missing fonts-wqy-microhei"; \
	command -v pdftoppm >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing Debian packages (not root):$$missing; tests needing them will be skipped"; fi; \
	fi

# The demo sources through the whole service at 50x speed, clock injected (SOAK_MINUTES=30
# by default): RSS of every process and the figures reconciled at the end.
soak: $(STAMP)
	$(BIN)/python -m soak

# The fault tests with their full durations (index down 5 minutes, PostgreSQL 30 s).
faults: $(STAMP)
	YUQING_FAULT_INDEX_DOWN_S=300 YUQING_FAULT_PG_DOWN_S=30 YUQING_FAULT_SMTP_DOWN_S=60 \
	  $(BIN)/python -m pytest -q -p no:cacheprovider tests/faults

# Property-based and fuzz tests with many more examples than `make test` runs
# (hypothesis profile "fuzz"; failures are replayed first from var/hypothesis).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -p no:cacheprovider --timeout=0 tests/fuzz
