# Stand-in for Docker Hub's postgres:16: Debian bookworm's PostgreSQL 15, with the parts of the official image's
# interface that docker-compose.yml uses (POSTGRES_DB/USER/PASSWORD, the data volume, pg_isready). Test-only.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
LABEL org.wattson.stand-in="postgres:16 from Debian bookworm's postgresql-15 (compose/standins)"
USER postgres
VOLUME /var/lib/postgresql/data
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
CMD ["postgres"]
