# A fresh Debian machine running the README's test command (`.ci/run` = `cargo xtask test`): only a
# Rust toolchain, a C linker, Python and git are there beforehand; xtask must install the rest itself
# (aarch64 cross toolchain, qemu-user, the .venv with the pinned Python packages) and pass.
#
#   docker build -f .ci/fresh-debian.Dockerfile --build-arg BASE=raptors-base:bookworm \
#       --build-arg EXTRA_CA_CERTS -t raptors-fresh-test .
#   docker run --rm raptors-fresh-test
#
# BASE as in the top-level Dockerfile (debian:bookworm-slim, or a debootstrap image where no image
# registry is reachable); EXTRA_CA_CERTS: PEM text of CA certificates a TLS-intercepting network needs.
ARG BASE=debian:bookworm-slim
FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
# bookworm-updates/-security carry a Rust new enough for the workspace (rustc-web).
RUN printf '%s\n' \
        'deb http://deb.debian.org/debian bookworm-updates main' \
        'deb http://deb.debian.org/debian-security bookworm-security main' \
        > /etc/apt/sources.list.d/raptors-updates.list \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends \
        rustc-web cargo-web gcc libc6-dev python3 git ca-certificates \
    && rm -rf /var/lib/apt/lists/*
ARG EXTRA_CA_CERTS=""
RUN if [ -n "$EXTRA_CA_CERTS" ]; then \
        printf '%s\n' "$EXTRA_CA_CERTS" > /usr/local/share/ca-certificates/extra-build-ca.crt \
        && update-ca-certificates; \
    fi
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
COPY . /src
WORKDIR /src
CMD ["./.ci/run"]
