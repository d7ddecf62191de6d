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

.PHONY: venv run test bench clean debian-packages

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

venv: $(STAMP)

debian-packages:
	@scripts/debian_packages.sh $(DEBIAN_PACKAGES)

run: $(STAMP) debian-packages
	$(BIN)/python scripts/run.py

test: $(STAMP) debian-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV)
