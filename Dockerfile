# f8serve: a small CPU-only image that serves the models in /models (the shipped
# Fashion-MNIST model by default) on port 8080 (HTTP) and 8081 (gRPC).
#
#   docker build -t f8serve .            (or: podman build --network=host -t f8serve .)
#   docker run --rm -p 8080:8080 -p 8081:8081 f8serve
#   curl --data-binary @samples/ankle-boot.jpg -H 'Content-Type: image/jpeg' localhost:8080/predictions/fashion
#
# To serve your own models: -v /path/to/models:/models:ro
# Reload them without a restart: docker kill -s HUP <container>
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      build-essential pkg-config libuv1-dev libmicrohttpd-dev libgnutls28-dev libturbojpeg0-dev \
      libjansson-dev libsystemd-dev libgrpc-dev libprotobuf-c-dev protobuf-c-compiler zlib1g-dev \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
WORKDIR /src
COPY Makefile ./
COPY engine engine
COPY imaging imaging
COPY daemon daemon
COPY proto proto
# Stripped: the symbols stay in the build stage; the runtime image carries only the code.
RUN make -j"$(nproc)" build/f8d build/f8 \
 && strip --strip-unneeded build/f8d build/f8

FROM ${BASE}
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libuv1 libmicrohttpd12 libgnutls30 libturbojpeg0 libjansson4 libsystemd0 libgrpc29 \
      libprotobuf-c1 zlib1g curl \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && useradd --uid 65532 --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin f8d
COPY --from=build /src/build/f8d /src/build/f8 /usr/local/bin/
COPY models/*.f8 /models/
COPY scripts/f8d-healthcheck /usr/local/bin/
# Numeric, so that Kubernetes' runAsNonRoot can check it is not root (a name it cannot);
# 65532, the "nonroot" user of distroless images, as deploy/kubernetes sets runAsUser.
USER 65532:65532
EXPOSE 8080 8081
# Probes the port f8d was given (flag, F8D_PORT or the config file), not a fixed one.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["/usr/local/bin/f8d-healthcheck"]
# Every setting is an F8D_* variable (see config/f8d.conf): docker run -e F8D_MAX_BATCH_SIZE=32
ENV F8D_MODELS=/models F8D_HOST=0.0.0.0 F8D_PORT=8080 F8D_GRPC_PORT=8081
ENTRYPOINT ["/usr/local/bin/f8d"]
