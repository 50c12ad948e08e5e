# The default sandbox image: python3, git, pytest and ripgrep on a Debian-like base.
# BASE is any image with apt and python3; `agent sandbox build --offline` passes one it
# made itself with debootstrap, which already carries everything below, so no step here
# needs the network in that case.
ARG BASE=python:3.12-slim
FROM ${BASE}
RUN set -eu; \
    missing=""; \
    command -v git >/dev/null || missing="$missing git"; \
    command -v rg >/dev/null || missing="$missing ripgrep"; \
    command -v ps >/dev/null || missing="$missing procps"; \
    if [ -n "$missing" ]; then \
        apt-get update && apt-get install -y --no-install-recommends $missing \
        && rm -rf /var/lib/apt/lists/*; \
    fi; \
    python3 -c "import pytest" 2>/dev/null || python3 -m pip install --no-cache-dir pytest; \
    git config --system init.defaultBranch main; \
    git config --system --add safe.directory '*'; \
    mkdir -p /workspace
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LANG=C.UTF-8
WORKDIR /workspace
LABEL org.patchsmith.image="sandbox"
CMD ["sleep", "infinity"]
