# syntax=docker/dockerfile:1
#
# Tandem container image: two stages on node:20-slim.
#
#   docker build -t tandem .
#   docker run --init --rm tandem            # prints `tandem <version>` until the proxy lands
#
# Ports (EXPOSE only documents them; publish with -p, or use --network host for an HA pair,
# where keepalived moves a VIP between hosts):
#   5060/udp  SIP over UDP
#   5060/tcp  SIP over TCP
#   5061/tcp  SIP over TLS
#   8888/tcp  MI: JSON-RPC 2.0 over HTTP (management; keep it off public networks)
#   5566/tcp  cluster bin channel (bin:/bins:) between the nodes of a pair
#
# Run with --init (or another init) so that SIGTERM reaches node and zombies are reaped.

# --- build: all dependencies (TypeScript is a dev dependency), compile to dist/ ---------------
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# Git keeps no empty folders: make sure cfg/ and modules/ exist even before they have files.
RUN mkdir -p cfg modules && npm run build

# --- runtime: production dependencies, compiled code, default config, non-root ------------------
FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The default config and routing scripts. Routing scripts are TypeScript run through tsx,
# which is a production dependency for that reason.
COPY --from=build /app/cfg ./cfg
# `node` (uid 1000) comes with the official image; all ports are above 1024.
USER node
EXPOSE 5060/udp 5060/tcp 5061/tcp 8888/tcp 5566/tcp
CMD ["node", "dist/src/main.js"]
