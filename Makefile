# Developer shortcuts. The README's two commands do not need make.
.PHONY: build ebpf test check replay-qa run fmt

build:
	cargo build --release --locked -p innerwarden

ebpf:
	bash scripts/build-ebpf.sh

test:
	bash scripts/test.sh

check:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

fmt:
	cargo fmt --all

# Replays the labelled third-party SSH logs and gates on the measured numbers; then the
# detection gate (README "Detection gate"): ART tests as event streams, detection per area,
# false positives per benign corpus; then every correlation rule's fixtures.
replay-qa:
	cargo test -p innerwarden-core --test replay_qa --locked -- --nocapture
	cargo test -p innerwarden-core --test detection_gate --locked -- --nocapture --test-threads=1
	cargo test -p innerwarden-core --test correlation_fixtures --locked -- --nocapture

run: build
	./target/release/innerwarden --config packaging/config.toml run
