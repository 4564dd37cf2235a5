# syntax=docker/dockerfile:1
# Matrix registration service. Configuration is by environment only (see README: Configuration).
#   docker build -t matrix-registration-service .
#   docker run -e SERVER_NAME=example.org -e DATABASE_URL=postgres://... -p 8008:8008 matrix-registration-service

# 1. Build: all dependencies (TypeScript), compile src/ to dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies only (argon2 loads its bundled prebuilt binary for linux glibc).
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. Runtime: compiled code, production node_modules, SQL migrations; runs as the unprivileged
#    "node" user of the base image. /data holds the embedded database when DATABASE_URL is unset.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8008 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
COPY --chown=root:root migrations ./migrations
RUN mkdir -p /data && chown node:node /data && ln -s /app/dist/cli.js /usr/local/bin/mrs-admin && chmod 0755 /app/dist/cli.js
USER node
VOLUME ["/data"]
EXPOSE 8008
# /health: the process is alive and serving HTTP. (Load balancers should use /ready instead, which
# also checks the database.) Node's fetch avoids needing curl in the image.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8008) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM: stop accepting, finish requests in flight, exit 0 (SHUTDOWN_TIMEOUT bounds it).
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
