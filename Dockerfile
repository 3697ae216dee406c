# The ferry host worker image (docker-compose.yml, service ferry-worker). Not built in CI: no
# base image can be pulled on the project's machines. Debian unstable carries CRIU >= 4.2, which
# kernels >= 6.13 need (docs/install.md).
FROM debian:sid-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm gcc libc6-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/ferry
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY native ./native
RUN npm run build \
 && mkdir -p .tools/bin \
 && for p in ferry-shim ferry-stateful; do gcc -O2 -static -o .tools/bin/$p native/$p.c; done \
 && npm prune --omit=dev

FROM debian:sid-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      nodejs criu runc rsync openssh-client iptables iproute2 procps ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/ferry
COPY --from=build /opt/ferry/package.json ./
COPY --from=build /opt/ferry/node_modules ./node_modules
COPY --from=build /opt/ferry/dist ./dist
COPY --from=build /opt/ferry/.tools ./.tools
COPY bin ./bin
# Metrics (hosts[].metrics.bindAddress) and ferry serve listen where the config says.
ENTRYPOINT ["/opt/ferry/bin/ferry"]
CMD ["worker", "--help"]
