# Convenience targets; the scripts are the source of truth.
.PHONY: build test demo up up-split up-secure down status bench

build:
	scripts/build.sh
test:
	scripts/test.sh
demo:
	scripts/demo.sh
up:
	deploy/kafka/cluster.sh up
	deploy/opensearch/opensearch.sh up
	deploy/prometheus/prometheus.sh up
up-split:
	deploy/kafka/cluster.sh up --split
	deploy/opensearch/opensearch.sh up
	deploy/prometheus/prometheus.sh up
up-secure:
	deploy/kafka/cluster.sh up --secure
	deploy/opensearch/opensearch.sh up
	deploy/prometheus/prometheus.sh up
down:
	deploy/prometheus/prometheus.sh down
	deploy/opensearch/opensearch.sh down
	deploy/kafka/cluster.sh down
status:
	deploy/kafka/cluster.sh status
	deploy/opensearch/opensearch.sh status
	deploy/prometheus/prometheus.sh status
bench:
	bench/e2e.sh
