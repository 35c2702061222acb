# The two commands a new user needs:
#   make run   set everything up, load the demo (Shropshire and Oldham from real open data), serve
#   make test  lint (ruff), then run the whole test suite against a real PostGIS
VENV := .venv/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup db demo serve clean-db

setup:
	./scripts/setup.sh

run: setup
	$(VENV)/assetmap db up
	$(VENV)/assetmap init
	$(VENV)/assetmap demo
	$(VENV)/assetmap serve --host $(HOST) --port $(PORT)

test:
	./scripts/setup.sh --browser
	$(VENV)/ruff check .
	$(VENV)/assetmap db up
	$(VENV)/python -m pytest $(PYTEST_ARGS)

clean-db:
	-$(VENV)/assetmap db down
	rm -rf instance/pg
