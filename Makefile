# Convenience targets; the scripts are the source of truth.
.PHONY: build test demo up up-split down status bench

build:
	scripts/build.sh
test:
	scripts/test.sh
demo:
	scripts/demo.sh
up:
	deploy/kafka/cluster.sh up
up-split:
	deploy/kafka/cluster.sh up --split
down:
	deploy/kafka/cluster.sh down
status:
	deploy/kafka/cluster.sh status
bench:
	bench/e2e.sh
