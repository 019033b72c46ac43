# icsat in a container: built here, run as an unprivileged user with its data in a
# volume. SQLite by default (the volume holds the database); set ICSAT_DATABASE_URL to
# postgres://... for PostgreSQL (see docker-compose.yml).

FROM rust:1.89-bookworm AS build
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
    && strip target/release/icsat

FROM debian:bookworm-slim
# libpq5 for PostgreSQL; curl for the health check; ca-certificates for smtps.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 icsat \
    && useradd --system --uid 10001 --gid icsat --home-dir /var/lib/icsat --no-create-home \
       --shell /usr/sbin/nologin icsat \
    && install -d -m 0700 -o icsat -g icsat /var/lib/icsat
COPY --from=build /src/target/release/icsat /usr/local/bin/icsat
COPY survey-definitions /etc/icsat/survey-definitions
ENV ICSAT_DATABASE_URL=sqlite:///var/lib/icsat/icsat.db \
    ICSAT_DEFINITIONS=/etc/icsat/survey-definitions \
    ICSAT_OUTBOX_DIR=/var/lib/icsat/outbox \
    ICSAT_BIND=0.0.0.0:8080
# Numeric, so that the host and Kubernetes' runAsNonRoot can check it.
USER 10001:10001
WORKDIR /var/lib/icsat
VOLUME ["/var/lib/icsat"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["icsat"]
CMD ["serve"]
