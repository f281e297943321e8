# The verification service as a static binary on a distroless base.
#   docker build -t tee-sdk/teectl:0.1.0 .
#   docker run -p 8443:8443 -v $PWD/policies:/policies:ro tee-sdk/teectl:0.1.0 \
#     serve --listen 0.0.0.0:8443 --policy-dir /policies
# (Not built on the development machines; see docs/service.md.)
FROM rust:1.88-bookworm AS build
RUN rustup target add x86_64-unknown-linux-musl && \
    apt-get update && apt-get install -y --no-install-recommends musl-tools && \
    rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Pure Rust apart from ring's own C/assembly (built by cc with musl-gcc); no system libraries.
RUN cargo build --release --locked -p teectl --target x86_64-unknown-linux-musl && \
    cp target/x86_64-unknown-linux-musl/release/teectl /teectl

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /teectl /usr/local/bin/teectl
USER nonroot
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/teectl"]
CMD ["serve", "--listen", "0.0.0.0:8443", "--policy-dir", "/policies"]
