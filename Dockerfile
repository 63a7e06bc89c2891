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
COPY --from=build /src/target/release/gangway /usr/local/bin/gangway
ENV GANGWAY_HOST=0.0.0.0 PORT=8080 DATABASE_URL=sqlite:///data/gangway.db
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/gangway"]
CMD ["serve"]
