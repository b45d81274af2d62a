# One image for the gateway and every subgraph: the Deployment (deploy/k8s) or `docker run` chooses the service
# by its entry file, e.g. `docker run shop-supergraph:local subgraphs/users/src/index.ts`; the default is the
# gateway. Services run from their TypeScript sources with tsx, as `pnpm start` does (there is no build step).
#   docker build -t shop-supergraph:local .
# Node 24 LTS (Node 20 is past its end of life; engines still allows >= 20.19, and the suite passes on both) and
# the pnpm of package.json's packageManager field. On 24 the seven subgraphs used about a quarter less CPU per
# checkout than on 20 in the checkout bench (bench/README.md, "checkout").
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH CI=true
RUN corepack enable
# The whole workspace (.dockerignore keeps out node_modules, .git, local data): every package's manifest is
# needed for the install, and pnpm links the workspace packages to their sources.
COPY . .
RUN pnpm install --frozen-lockfile
# Prisma clients are generated offline from each schema (packages/db); they are not committed.
RUN pnpm prisma:generate

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0
# tsx (a root devDependency) runs the services, so the whole installed workspace is kept.
COPY --from=build --chown=node:node /app /app
USER node
# node itself is the process (signals reach it: graceful shutdown on SIGTERM), tsx loaded as a hook.
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["gateway/src/index.ts"]
