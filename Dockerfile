# Builds the release binary and runs it on a slim image. Used by fly.toml.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY crates ./crates
COPY migrations ./migrations
# Without default features: no fake GitHub and no test key in the product.
RUN cargo build --release --locked --no-default-features --bin gangway

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
# Gangway runs as `gangway`; `gangway-driver` is there for GANGWAY_DRIVER_USER (docs/security.md,
# "The driver's reach").
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin gangway \
 && useradd --system --uid 10002 --user-group --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin gangway-driver \
 && mkdir -p /data && chown gangway:gangway /data && chmod 700 /data
COPY --from=build /src/target/release/gangway /usr/local/bin/gangway
# Started as root only to hand the volume (mounted root-owned) to `gangway`, then `exec`s
# Gangway as `gangway` (no process stays behind with the environment). With
# GANGWAY_DRIVER_USER set, Gangway keeps root: it needs it to start the driver as that user.
RUN printf '%s\n' '#!/bin/sh' 'set -e' \
    'if [ "$(id -u)" = 0 ]; then' \
    '  mkdir -p /data && chown gangway:gangway /data && chmod 700 /data' \
    '  if [ -z "$GANGWAY_DRIVER_USER" ]; then' \
    '    exec setpriv --reuid=gangway --regid=gangway --init-groups /usr/local/bin/gangway "$@"' \
    '  fi' \
    'fi' \
    'exec /usr/local/bin/gangway "$@"' > /usr/local/bin/gangway-entrypoint \
 && chmod 755 /usr/local/bin/gangway-entrypoint
ENV GANGWAY_HOST=0.0.0.0 PORT=8080 DATABASE_URL=sqlite:///data/gangway.db
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/gangway-entrypoint"]
CMD ["serve"]
