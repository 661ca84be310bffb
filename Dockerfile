# The NumPy-vs-Raptors profile inside a container: `cargo xtask profile --container` builds and runs
# this image (see docs/profiling.md). Everything comes from Debian packages and the package
# registries, so the image builds wherever apt and PyPI/crates.io are reachable.
#
# BASE defaults to the ordinary Debian image. On machines without an image registry, build a local
# base from Debian packages (debootstrap) and pass it in:
#   debootstrap --variant=minbase bookworm rootfs http://deb.debian.org/debian
#   tar -C rootfs -c . | docker import - raptors-base:bookworm
#   docker build --build-arg BASE=raptors-base:bookworm -t raptors-profile .
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS toolchain
ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8
# bookworm-updates/-security carry the Rust toolchain new enough for the workspace (rustc-web 1.8x+)
# and its aarch64 standard library; a debootstrap base has only `bookworm main` configured.
RUN printf '%s\n' \
        'deb http://deb.debian.org/debian bookworm-updates main' \
        'deb http://deb.debian.org/debian-security bookworm-security main' \
        > /etc/apt/sources.list.d/raptors-updates.list \
    && dpkg --add-architecture arm64 \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends \
        rustc-web cargo-web libstd-rust-web-dev:arm64 \
        gcc libc6-dev pkg-config ca-certificates git \
        gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils binutils-aarch64-linux-gnu qemu-user-static \
        python3 python3-dev python3-venv python3-pip \
        valgrind linux-perf \
    && rm -rf /var/lib/apt/lists/*

# Networks that intercept TLS (corporate proxies, sandboxes) need their CA inside the image for
# pip and cargo; `cargo xtask profile --container` passes the host's extra CA certificates
# (/usr/local/share/ca-certificates/*.crt) here. Certificates are public, not secrets.
ARG EXTRA_CA_CERTS=""
RUN if [ -n "$EXTRA_CA_CERTS" ]; then \
        printf '%s\n' "$EXTRA_CA_CERTS" > /usr/local/share/ca-certificates/extra-build-ca.crt \
        && update-ca-certificates; \
    fi
# pip's own bundle would ignore the system store.
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt

WORKDIR /src
# The pinned Python side first, so source edits do not reinstall it.
COPY requirements.txt /src/requirements.txt
RUN python3 -m venv /src/.venv \
    && /src/.venv/bin/pip install --disable-pip-version-check -q -r /src/requirements.txt \
    && cp /src/requirements.txt /src/.venv/.raptors-requirements

FROM toolchain AS profile
COPY . /src
# Build the tools and the raptors module once at image build time; `profile` then only runs them.
RUN cargo build --release -p raptors-asm -p raptors-bench \
    && cargo build -p xtask \
    && cargo xtask setup
# The report says when it was produced inside this image.
ENV RAPTORS_PROFILE_CONTAINER=1
# Artifacts go to /out/profiles (mount the host's benchmarks/ folder at /out): the atomic swap
# renames profiles.tmp-<pid> next to profiles, which needs their parent inside the container.
VOLUME ["/out"]
ENTRYPOINT ["cargo", "xtask", "profile", "--out-dir", "/out/profiles"]
CMD ["--quick"]
