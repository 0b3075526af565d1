# akvd container images.  `make image` builds them with podman:
#
#   akvd:VERSION (and akvd:latest)       FROM scratch: the static akvd, the CA
#                                        certificates, passwd/group; ~6 MB
#   akvd-postgres:VERSION                Debian 12 slim with psql, for the
#                                        rotation hook of k8s/overlays/postgres
#
# The context is the repository after `make static` (build/static/akvd) and
# with the trust anchors copied to build/image/ca-certificates.crt, and
# one per file named by subject hash in build/image/certs; see
# .dockerignore.  make image does both, makes the debian:12-slim base with
# mmdebstrap from Debian's archive, and never pulls from a registry:
#
#   podman build --pull=never --target runtime -t akvd:0.1.0 .
#
# The entrypoint is akvd itself; the default arguments name the default
# configuration file, and any arguments given replace them:
#
#   podman run akvd:0.1.0                          akvd --config /etc/akvd/akvd.json
#   podman run akvd:0.1.0 --version
#   podman run akvd:0.1.0 --config /etc/akvd/akvd.json --log-format json
#   podman run akvd:0.1.0 --config /c.json -- /usr/bin/akvd --version

ARG VERSION=0.0.0

FROM scratch AS runtime
ARG VERSION
LABEL org.opencontainers.image.title="akvd" \
      org.opencontainers.image.description="Keeps Azure Key Vault secrets fresh in files on disk" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="scratch"
COPY image/rootfs/ /
COPY build/image/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY build/image/certs/ /etc/ssl/certs/
COPY build/static/akvd /usr/bin/akvd
ENV PATH=/usr/bin
# The health listener of the examples ("listen": ":9090").
EXPOSE 9090
USER 65532:65532
ENTRYPOINT ["/usr/bin/akvd"]
CMD ["--config", "/etc/akvd/akvd.json"]

# The PostgreSQL sidecar of k8s/overlays/postgres: akvd and psql, for the
# rotate-password.sh hook.  It runs as uid 999, the postgres user of the
# server's image, which has no passwd entry here: PGUSER names the role.
FROM debian:12-slim AS postgres
ARG VERSION
ARG DEBIAN_FRONTEND=noninteractive
LABEL org.opencontainers.image.title="akvd-postgres" \
      org.opencontainers.image.description="akvd with psql, for the PostgreSQL password rotation hook" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="debian:12-slim"
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates postgresql-client-15 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
COPY build/static/akvd /usr/bin/akvd
ENV PGUSER=postgres
EXPOSE 9090
USER 999:999
ENTRYPOINT ["/usr/bin/akvd"]
CMD ["--config", "/etc/akvd/akvd.json"]

# The default target.
FROM runtime
