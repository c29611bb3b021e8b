# syntax=docker/dockerfile:1
# The clusterinventory image: `docker build -t clusterinventory-temporal:0.1.0 .` from the repository root
# (the build context needs package.json, the lock file and the sources; .dockerignore keeps the rest out).
#
#   build:   node:20-bookworm-slim — npm ci, npm run build (tsc → dist/, prebuilt dist/workflow-bundle.js),
#            npm prune --omit=dev.
#   runtime: distroless Node.js 20 on Debian 12 (glibc, which the prebuilt @temporalio/core-bridge needs:
#            no Alpine/musl), user 65532, no shell, no package manager; tini as PID 1.
#
# Exec credential plugins run without a shell: mount static binaries (Go plugins such as
# aws-iam-authenticator, kubelogin, gke-gcloud-auth-plugin are) with the chart's extraVolumes; a plugin
# that needs an interpreter needs an image derived from one that has it.

ARG BUILD_IMAGE=node:20-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs20-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /app
ENV CI=true \
    npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false
# tini-static: PID 1 of the runtime image. It forwards SIGTERM to node and reaps orphans, e.g. helpers an
# exec plugin started whose parent was killed at the exec timeout.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
# Dependencies first: this layer is reused while only sources change.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY activities ./activities
COPY cli ./cli
COPY tools/build-workflow-bundle.ts ./tools/build-workflow-bundle.ts
COPY watcher ./watcher
COPY worker ./worker
COPY workflows ./workflows
RUN npm run build \
 && test -f dist/cli/main.js \
 && test -f dist/workflow-bundle.js
# Runtime dependencies only; then drop the core-bridge prebuilds of other platforms (~110 MB).
RUN npm prune --omit=dev \
 && node -e "const fs=require('fs'),p='node_modules/@temporalio/core-bridge/releases',keep={x64:'x86_64',arm64:'aarch64'}[process.arch]+'-unknown-linux-gnu';if(!fs.existsSync(p+'/'+keep))throw new Error('no core-bridge prebuild '+keep);for(const d of fs.readdirSync(p))if(d!==keep)fs.rmSync(p+'/'+d,{recursive:true})" \
 && test ! -e node_modules/typescript \
 && test ! -e node_modules/tsx

FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=build /usr/bin/tini-static /usr/bin/tini
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/node_modules ./node_modules
ENV NODE_ENV=production \
    HOME=/tmp
# The distroless "nonroot" user; the chart sets the same (runAsUser/runAsGroup 65532, runAsNonRoot).
USER 65532:65532
EXPOSE 9440 9464
# bin/clusterinventory.js runs dist/cli/main.js (it falls back to tsx only in a source checkout).
# The memory settings of bin/clusterinventory (there is no shell here): docs/adr/0007-memory-tuning.md.
ENV MALLOC_ARENA_MAX=2
ENTRYPOINT ["/usr/bin/tini", "--", "/nodejs/bin/node", "--max-semi-space-size=4", "/app/bin/clusterinventory.js"]
CMD ["--help"]
