# The default sandbox image: python3, git, pytest, ripgrep and patch on a Debian-like base.
# BASE is any Debian-like image with apt and python3; `agent sandbox build --offline` passes one it
# made itself with debootstrap, which already carries everything below, so no step here
# needs the network in that case.
ARG BASE=python:3.12-slim
FROM ${BASE}
RUN set -eu; \
    missing=""; \
    command -v git >/dev/null || missing="$missing git"; \
    command -v rg >/dev/null || missing="$missing ripgrep"; \
    command -v ps >/dev/null || missing="$missing procps"; \
    command -v patch >/dev/null || missing="$missing patch"; \
    python3 -m pip --version >/dev/null 2>&1 || missing="$missing python3-pip"; \
    if [ -n "$missing" ]; then \
        apt-get update && apt-get install -y --no-install-recommends $missing \
        && rm -rf /var/lib/apt/lists/*; \
    fi; \
    python3 -c "import pytest" 2>/dev/null || python3 -m pip install --no-cache-dir pytest; \
    git config --system init.defaultBranch main; \
    git config --system --add safe.directory '*'; \
    id -u patchsmith >/dev/null 2>&1 || useradd --create-home --uid 1000 --shell /bin/bash patchsmith; \
    mkdir -p /workspace
# Debian's python refuses pip installs outside a venv; a sandbox is disposable, so allow them.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8 PIP_BREAK_SYSTEM_PACKAGES=1
WORKDIR /workspace
# Commands run as this user, on a read-only root filesystem (the workspace, /tmp and the
# user's home stay writable): see the sandbox's hardening in sandbox/docker.py.
LABEL org.patchsmith.image="sandbox" org.patchsmith.user="patchsmith"
CMD ["sleep", "infinity"]
