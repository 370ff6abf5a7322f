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

# Replays the labelled third-party SSH logs and gates on the measured numbers.
replay-qa:
	cargo test -p innerwarden-core --test replay_qa --locked -- --nocapture

run: build
	./target/release/innerwarden --config packaging/config.toml run
