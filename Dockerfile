# The watchpost image: one image, run by docker-compose.monitoring.yml as the exporter and as
# the notifier. Build: docker build -t watchpost:0.1.0 .
#
# NODE_IMAGE is the Node 20 base of both stages. The default is pinned; a test or an air-gapped
# build passes its own (scripts/build-local-images.sh builds one from the host's node).
ARG NODE_IMAGE=node:20.19.5-bookworm-slim

# --- build: dev dependencies, TypeScript compile ----------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: no install script runs (dockerode's optional native addon is skipped, so no
# compiler is needed) and the `prepare` build waits for the sources below.
RUN npm ci --no-audit --no-fund --ignore-scripts
# Everything .dockerignore lets through: sources, tsconfig.json, the shipped configs.
COPY . .
RUN node node_modules/typescript/bin/tsc -p tsconfig.json \
 && npm prune --omit=dev --no-audit --no-fund --ignore-scripts \
 && rm -rf /root/.npm \
 && mkdir -p /out/state

# --- runtime: dist/ and production node_modules only --------------------------------------------
FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
# The repository the image is built from, e.g. --build-arg SOURCE_URL=https://git.example.com/ops/watchpost
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="watchpost" \
      org.opencontainers.image.description="Monitoring and alerting overlay for self-hosted Docker Compose applications: exporter and notifier" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The state folder, owned by the service user: a fresh named volume copies this ownership.
COPY --from=build --chown=10001:10001 /out/state /var/lib/watchpost
COPY --from=build /src/alerts ./alerts
COPY --from=build /src/provisioning ./provisioning
COPY --from=build /src/config/watchpost.schema.json ./config/watchpost.schema.json
ENV NODE_ENV=production \
    WATCHPOST_CONFIG=/etc/watchpost/watchpost.yml
# A fixed non-root uid/gid, the same on every host, so secret files and volumes can be granted
# to it (docs/deploy.md). State (the notifier's outbox) lives only under the volume below; the
# root filesystem can be read-only.
USER 10001:10001
VOLUME ["/var/lib/watchpost"]
EXPOSE 9850 9851
# Compose sends SIGTERM on stop and SIGKILL 10 s later; both services stop within 5 s.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["node", "dist/cli/healthcheck.js"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["exporter"]
