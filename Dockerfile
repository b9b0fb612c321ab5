# The cxone-scim CLI (worker, webhook receiver, sandbox) as an image; see temporal-compose.yml.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/cxone-sandbox/package.json ./packages/cxone-sandbox/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY packages ./packages
COPY src ./src
COPY test ./test
COPY bench ./bench
# The sandbox (a dev dependency) is pruned: the image holds the product only.
RUN npx tsc -b && npm prune --omit=dev

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
USER node
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["worker"]
