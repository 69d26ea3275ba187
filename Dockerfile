# spate in a container (deploy/compose.yaml builds it): compiled on Debian 12 with the project's
# own scripts, run on Debian 12 slim with the shared libraries it links.
#   docker build -t spate:local .
FROM debian:bookworm AS build
WORKDIR /src
COPY . .
RUN scripts/deps.sh && SPATE_BUILD_DIR=build scripts/build.sh -DSPATE_BENCH=OFF \
    && strip build/spate

FROM debian:bookworm-slim
# The packages of the libraries build/spate needs (readelf -d: NEEDED); tests/compose_test.py
# checks this list against the binary it builds.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       librdkafka1 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libsimdjson14 libfmt9 \
       libabsl20220623 libavro23 libmicrohttpd12 libcurl4 libspdlog1.10 libicu72 libssl3 \
       libzstd1 zlib1g \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/spate /usr/local/bin/spate
USER nobody
ENTRYPOINT ["/usr/local/bin/spate"]
