# The two commands of the README: `make run` starts the system, `make test` runs the tests.
# Each creates .venv and installs what it needs on its own.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
PYTEST_ARGS ?=

# Debian packages the system needs beside Python's: pango and the Noto CJK fonts render the
# documents' Chinese PDFs (WeasyPrint), DejaVu the Uyghur (Arabic-script) names among them;
# poppler-utils reads them back in the tests.
DEBIAN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fontconfig fonts-noto-cjk fonts-dejavu-core poppler-utils
# The tests also drive the console in Debian's Chromium (Playwright cannot download its own here).
TEST_DEBIAN_PACKAGES := $(DEBIAN_PACKAGES) chromium

.PHONY: venv run test bench clean debian-packages test-debian-packages screenshots

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

venv: $(STAMP)

debian-packages:
	@scripts/debian_packages.sh $(DEBIAN_PACKAGES)

test-debian-packages:
	@scripts/debian_packages.sh $(TEST_DEBIAN_PACKAGES)

run: $(STAMP) debian-packages
	$(BIN)/python scripts/run.py

test: $(STAMP) test-debian-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV)

# Every page of the console's browser tests, photographed into screenshots/ for a person to look at.
screenshots: $(STAMP) test-debian-packages
	rm -rf screenshots && mkdir -p screenshots
	TIAOJIE_SCREENSHOTS=$(CURDIR)/screenshots $(BIN)/python -m pytest tests/browser -p no:cacheprovider $(PYTEST_ARGS)
	@echo "screenshots in $(CURDIR)/screenshots"
