# Stand-in for Docker Hub's python:3.11-slim, built only where Docker Hub is unreachable (compose/test.py).
# Debian bookworm's own Python is 3.11; `python`, `pip` and `venv` behave as in the official image for our Dockerfile.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/python3 /usr/local/bin/python \
 && ln -s /usr/bin/pip3 /usr/local/bin/pip
ENV LANG=C.UTF-8
LABEL org.wattson.stand-in="python:3.11-slim from Debian bookworm's python3 (compose/standins)"
CMD ["python3"]
