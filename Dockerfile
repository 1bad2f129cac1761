# qwen-code-headless: the qwen CLI, installed by this collection's own role, configured only at run time.
#   docker build --build-arg QWEN_CODE_VERSION="$(python3 tests/tools/releases.py)" -t qwen-code-headless .
#   echo test | docker run --rm -i -e OPENAI_API_KEY -e OPENAI_BASE_URL -e OPENAI_MODEL qwen-code-headless -p "summarize"
ARG BASE_IMAGE=debian:trixie-slim
# The build stage needs ansible-core >= 2.16 from the distribution: Debian 13 (trixie) has 2.19.
ARG BUILDER_IMAGE=${BASE_IMAGE}

FROM ${BUILDER_IMAGE} AS build
# The qwen release: no default here, its single source is plugins/module_utils/_releases.py (DEFAULT, which
# `python3 tests/tools/releases.py` prints); image/build.sh refuses to build without one.
ARG QWEN_CODE_VERSION
ARG NPM_REGISTRY=https://registry.npmjs.org
# ansible-core and python3 come from the Debian release itself, whose archive pins them; they stay in this stage.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ansible-core python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 --user-group --shell /bin/sh qwen
COPY . /usr/share/ansible/collections/ansible_collections/qwenops/qwen_code/
RUN QWEN_CODE_VERSION="${QWEN_CODE_VERSION}" NPM_REGISTRY="${NPM_REGISTRY}" \
    /usr/share/ansible/collections/ansible_collections/qwenops/qwen_code/image/build.sh

FROM ${BASE_IMAGE}
# `check` runs the collection's own provider check in Python (image/check.py, bundled with what it imports): the
# distribution's python3-minimal and standard library, about 29 MB (docs/ARCHITECTURE.md has the measurements).
# bubblewrap: qwen's execution sandbox (/usr/bin/bwrap, QWEN_EXECUTION_SANDBOX in docs/IMAGE.md), 0.13 MB. Before the
# release's build arguments, so that this layer stays cached from one release to the next.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-minimal libpython3-stdlib \
    bubblewrap \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
ARG QWEN_CODE_VERSION
# qwen's account (uid 1000: qwen and every command it runs) and the key broker's (a system account without a shell or
# home: it alone reads the key; docs/IMAGE.md, "Key isolation").
RUN useradd --create-home --uid 1000 --user-group --shell /bin/sh qwen \
 && useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin qwen-broker \
 && mkdir /workspace && chown qwen:qwen /workspace
COPY --from=build /opt/qwen-code /opt/qwen-code
COPY --from=build /etc/qwen-code /etc/qwen-code
COPY --from=build /usr/local/bin/qwen /usr/local/bin/qwen-entrypoint /usr/local/bin/qwen-key-broker /usr/local/bin/
COPY --from=build --chown=1000:1000 /home/qwen/.qwen /home/qwen/.qwen
ENV HOME=/home/qwen
# No USER: the entrypoint starts as root, puts the key in the broker (its own account) and runs qwen as uid 1000 with
# no capabilities and no-new-privileges (setpriv); `docker run --user` still works, without key isolation.
WORKDIR /workspace
ENTRYPOINT ["/usr/local/bin/qwen-entrypoint"]
CMD ["--help"]
# Labels last, so that a release's build arguments (tests/tools/release: the collection version, the commit and its
# time) change only this metadata layer and every layer above comes from the cache.
ARG COLLECTION_VERSION=""
ARG REVISION=""
ARG CREATED=""
ARG IMAGE_VERSION=${QWEN_CODE_VERSION}
LABEL org.opencontainers.image.title="qwen-code-headless" \
      org.opencontainers.image.description="The qwen coding CLI (@qwen-code/qwen-code) for headless use, configured at run time" \
      org.opencontainers.image.version="${IMAGE_VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/qwenops/qwen_code" \
      org.opencontainers.image.licenses="GPL-3.0-or-later AND Apache-2.0" \
      org.opencontainers.image.vendor="qwenops" \
      io.github.qwenops.collection-version="${COLLECTION_VERSION}" \
      io.github.qwenops.qwen-code-version="${QWEN_CODE_VERSION}"
