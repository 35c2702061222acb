# The two commands a new user needs:
#   make run   set everything up, load the demo (Shropshire and Oldham from real open data), serve
#              with gunicorn (the production server, development settings) at http://$(HOST):$(PORT)/
#   make test  lint (ruff), then run the whole test suite against a real PostGIS
VENV := .venv/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test setup db demo serve clean-db

setup:
	./scripts/setup.sh

# REDIS_URL: the one given, else the project-local Redis (instance/redis) that `assetmap redis up` starts.
run: setup
	$(VENV)/assetmap db up
	$(VENV)/assetmap redis up
	$(VENV)/assetmap init
	$(VENV)/assetmap demo
	REDIS_URL=$${REDIS_URL:-$$($(VENV)/assetmap redis url)} ASSETMAP_BASE_URL=$${ASSETMAP_BASE_URL:-http://$(HOST):$(PORT)} \
		$(VENV)/assetmap serve --gunicorn --host $(HOST) --port $(PORT)

test:
	./scripts/setup.sh --browser
	$(VENV)/ruff check .
	$(VENV)/assetmap db up
	$(VENV)/assetmap redis up
	ASSETMAP_TEST_REDIS_URL=$${REDIS_URL:-$$($(VENV)/assetmap redis url)} $(VENV)/python -m pytest $(PYTEST_ARGS)

clean-db:
	-$(VENV)/assetmap db down
	-$(VENV)/assetmap redis down
	rm -rf instance/pg instance/redis
