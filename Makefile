# The two commands of README.md: `make demo` (install + main job) and `make test` (install + tests).
.PHONY: install demo test test-fast doctor

install:
	./scripts/install.sh

demo: install
	.venvs/stream/bin/tsur demo

test: install
	./scripts/test.sh

test-fast: install
	./scripts/test.sh -m "not slow"

doctor: install
	.venvs/stream/bin/tsur doctor
