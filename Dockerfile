# Portcullis container image.
#
#   docker build -t portcullis .                       (or podman build; see deploy/local-base-images.sh offline)
#   docker run --rm -p 8080:8080 -v ./config.yaml:/etc/portcullis/config.yaml:ro portcullis start -f /etc/portcullis/config.yaml
#   docker run --rm -v ./config.yaml:/etc/portcullis/config.yaml:ro portcullis validate -f /etc/portcullis/config.yaml
#
# The config directory is /etc/portcullis (mount it read-only); the image runs as the unprivileged user `node`
# (uid 1000), works with a read-only root filesystem (/tmp and /app/.cache must be writable: tmpfs or volumes), and
# runs the gateway under tini, which passes SIGTERM on (the gateway drains, then exits 0) and reaps orphans.
ARG NODE_IMAGE=docker.io/library/node:24-bookworm-slim
ARG GO_IMAGE=docker.io/library/golang:1-bookworm

# --- the OPA compiler (tools/opa-compile: OPA's own packages behind `opa build -t wasm`, `opa parse`, `opa test`) ---
# Pinned by tools/opa-compile/go.mod and go.sum. WITH_OPA=0 leaves it out: a smaller image, faster to build, for
# configs without Rego policies.
FROM ${GO_IMAGE} AS opa
ARG WITH_OPA=1
COPY tools/opa-compile /src/opa-compile
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    mkdir -p /out && if [ "$WITH_OPA" = 1 ]; then \
      cd /src/opa-compile && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags='-s -w' -o /out/opa-compile .; \
    fi

# --- the admin UI (Vite is a devDependency: built here, only its output ships) ----------------------------------
FROM ${NODE_IMAGE} AS ui
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm install --no-save --ignore-scripts --no-audit --no-fund "vite@$(node -p "require('./package-lock.json').packages['node_modules/vite'].version")"
COPY ui ./ui
# The UI bundles the gateway's SSE codec (no Node-only imports there).
COPY core/protocol ./core/protocol
COPY scripts/build-ui.mjs ./scripts/
RUN node scripts/build-ui.mjs

# --- production dependencies and the gateway's JavaScript build --------------------------------------------------
FROM ${NODE_IMAGE} AS app
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY index.ts ./
COPY sdk-types ./sdk-types
COPY core ./core
COPY policies ./policies
# npm runs the allowed install scripts (esbuild, isolated-vm's prebuilt binary) and the postinstall, which builds
# dist/gateway (Go and Vite are absent here: it says so and skips OPA and the UI).
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund \
 && test -f dist/gateway/main.mjs \
 && rm -rf node_modules/.cache
COPY --from=ui /app/ui/dist ./ui/dist
COPY README.md ./

# --- the image ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
# tini as PID 1 (the official Node images do not have it; the local stand-in does).
RUN command -v tini >/dev/null || { apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*; }
COPY --from=opa /out/ /usr/local/bin/
COPY --from=app /app /app
RUN mkdir -p /etc/portcullis /app/.cache && chown node:node /app/.cache
ENV NODE_ENV=production \
    PORTCULLIS_OPA=/usr/local/bin/opa-compile
WORKDIR /app
USER node
# Compiled Rego policies are cached here: a volume, so a read-only root filesystem works.
VOLUME ["/app/.cache"]
EXPOSE 8080 15021 15020 15030
# Readiness on its default address (127.0.0.1:15021, inside the container): 503 while draining.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:15021/healthz/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["tini", "--", "node", "--no-node-snapshot", "/app/core/cli/bin.mjs"]
CMD ["start", "-f", "/etc/portcullis/config.yaml"]
