# tcd-hub image: docker-compose.yml runs it as the hub nodes, the media workers and the migration
# (README.md, "Deployment"); tests/test_deployment.py checks what they rely on here.

# The browser builds of socket.io-client, uPlot and Chart.js come from npm, as in `make run`;
# they are never committed.
FROM node:20-slim AS web-vendor
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund \
 && mkdir /vendor \
 && cp node_modules/socket.io-client/dist/socket.io.esm.min.js \
       node_modules/socket.io-client/dist/socket.io.esm.min.js.map \
       node_modules/uplot/dist/uPlot.esm.js node_modules/uplot/dist/uPlot.min.css \
       node_modules/chart.js/dist/chart.umd.min.js /vendor/

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY hub ./hub
COPY signaling ./signaling
COPY rooms ./rooms
COPY web ./web
COPY bench ./bench
# Before `pip install .`, so the vendored file is packaged with web/static.
COPY --from=web-vendor /vendor/ ./web/static/vendor/
# The minutes' PDF embeds Liberation Serif (Times New Roman's metric twin, every Vietnamese
# letter) from Debian's fonts-liberation2 (hub/services/minutes_pdf.py).
# gcc builds the packet forwarder's fan-out (rooms/fanout.c) before the package is installed,
# so rooms/_fanout.so goes in with it; gcc leaves the image again in the same layer.
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends fonts-liberation2 gcc libc6-dev \
 && gcc -O2 -Wall -Wextra -Werror -fPIC -shared -o rooms/_fanout.so rooms/fanout.c rooms/intake.c \
 && apt-get purge -y -q --auto-remove gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
# The locked set, each file checked against its hash, then the project alone.
RUN pip install --require-hashes -r requirements.lock \
 && pip install --no-deps . \
 && useradd --system --create-home --home-dir /var/lib/tcd-hub tcd
USER tcd
WORKDIR /var/lib/tcd-hub
ENV TCD_DATA_DIR=/var/lib/tcd-hub \
    TCD_HOST=0.0.0.0 \
    TCD_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
# Run alone, a container migrates (idempotent) and serves; compose gives each service its own
# command, with the migration as a one-shot service the nodes wait for.
CMD ["sh", "-c", "tcd-hub migrate && exec tcd-hub serve --host 0.0.0.0"]
