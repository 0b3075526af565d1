# akvd container image.  Built on Debian 12; run on debian:12-slim with only
# akvd's runtime libraries, as an unprivileged user, with no shell needed.
#
#   docker build -t REGISTRY/akvd:0.1.0 .
#   docker build --target postgres -t REGISTRY/akvd-postgres:0.1.0 .
#
# The ENTRYPOINT takes the configuration path; more options may follow:
#   docker run REGISTRY/akvd:0.1.0 /etc/akvd/akvd.json --log-format json

FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential pkg-config libcurl4-openssl-dev libev-dev \
      libcjson-dev libssl-dev libmicrohttpd-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile VERSION ./
COPY include include
COPY src src
COPY daemon daemon
RUN make build/akvd && strip build/akvd

# The runtime libraries: exactly the Debian packages holding what
# `ldd build/akvd` lists (tests/integration/image.test.js checks it), plus
# ca-certificates (the trust anchors, not a library).  Most are already in
# debian:12-slim; naming them keeps the list honest.
FROM debian:12-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates \
      libbrotli1 libc6 libcjson1 libcom-err2 libcurl4 libev4 libffi8 \
      libgmp10 libgnutls30 libgssapi-krb5-2 libhogweed6 libidn2-0 \
      libk5crypto3 libkeyutils1 libkrb5-3 libkrb5support0 libldap-2.5-0 \
      libmicrohttpd12 libnettle8 libnghttp2-14 libp11-kit0 libpsl5 librtmp1 libsasl2-2 \
      libssh2-1 libssl3 libtasn1-6 libunistring2 libzstd1 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/akvd /usr/bin/akvd
USER 65532:65532
ENTRYPOINT ["/usr/bin/akvd", "--config"]
CMD ["/etc/akvd/akvd.json"]

# The PostgreSQL sidecar of k8s/overlays/postgres: akvd and psql, for the
# rotate-password.sh hook; runs as the postgres user of the official image.
FROM runtime AS postgres
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/*
USER 999:999

# The default target.
FROM runtime
