# The two commands a newcomer needs: `make demo` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench install browsers clean

# The platform plugins are separate distributions, installed beside the SDK for their tests.
PLUGINS := plugins/shopify plugins/stripe plugins/woocommerce
# examples/weekend-coffee is the example third-party plugin; it does nothing unless a program opts in.
# examples/django-store and examples/flask-store embed the facade in a store; installed for their tests.
PLUGIN_INSTALLS := -e plugins/shopify -e 'plugins/stripe[test]' -e plugins/woocommerce -e examples/weekend-coffee \
	-e examples/django-store -e examples/flask-store

$(STAMP): pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS)) examples/weekend-coffee/pyproject.toml \
	examples/django-store/pyproject.toml examples/flask-store/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' $(PLUGIN_INSTALLS)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/loyalty demo

# The admin pages' browser tests drive Debian's Chromium through Playwright (never a downloaded
# browser); without it they skip, saying why.
browsers:
	@test -x /usr/bin/chromium || apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium) \
		|| echo "no /usr/bin/chromium: the browser tests will skip"

test: $(STAMP) browsers
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) loyalty.db loyalty.db-wal loyalty.db-shm .pytest_cache
