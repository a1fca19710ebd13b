# Stand-in for Docker Hub's redis:7: Debian bookworm's redis-server (7.0). Test-only (compose/docker-compose.test.yml).
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/*
# Like the official image's entrypoint: a `redis-server ...` command without a config file gets
# `--protected-mode no`, so other containers on the compose network may connect.
RUN printf '%s\n' '#!/bin/sh' 'if [ "$1" = redis-server ]; then exec "$@" --protected-mode no; fi' 'exec "$@"' \
      > /usr/local/bin/redis-entrypoint \
 && chmod 755 /usr/local/bin/redis-entrypoint
LABEL org.wattson.stand-in="redis:7 from Debian bookworm's redis-server 7.0 (compose/standins)"
USER redis
WORKDIR /var/lib/redis
EXPOSE 6379
ENTRYPOINT ["/usr/local/bin/redis-entrypoint"]
CMD ["redis-server"]
