# pgfleet's two commands. Both install what is missing first (.ci/setup).
#   make serve   build and run the console at http://127.0.0.1:3000
#   make test    run every test (cargo test + Playwright in headless chromium)

.PHONY: serve test site setup

serve:
	bash .ci/setup serve
	bash .ci/build-site
	cargo build --bin pgfleet
	./target/debug/pgfleet serve $(ARGS)

test:
	bash .ci/test

site:
	bash .ci/build-site

setup:
	bash .ci/setup test
