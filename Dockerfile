# otel-mon agent image: non-root, spool on a volume, HEALTHCHECK on /ready.
#   docker build -t otel-mon .
# Host mode (what the agent is for): the host's root read-only at /hostfs, its PID and network namespaces.
#   docker run -d --name otel-mon --pid host --network host -v /:/hostfs:ro,rslave \
#     -v otel-mon-spool:/var/lib/otel-mon otel-mon
# The default command reads the host under --root-path /hostfs and listens on 0.0.0.0:9464 (with
# --network host that is the host's port: add a token, OTEL_MON_HTTP__TOKEN, or --listen 127.0.0.1:9464).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY otel_mon ./otel_mon
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --no-create-home --home-dir /var/lib/otel-mon otel-mon \
    && mkdir -p /var/lib/otel-mon /etc/otel-mon && chown otel-mon /var/lib/otel-mon
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER otel-mon
WORKDIR /var/lib/otel-mon
# The spool (write-ahead log): keep it on a volume so a new container resumes where the old one stopped.
VOLUME ["/var/lib/otel-mon"]
ENV OTEL_MON_SPOOL__DIR=/var/lib/otel-mon
EXPOSE 9464
# 200 once the first collection is done. A token (OTEL_MON_HTTP__TOKEN) is sent when one is set.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; t = os.environ.get('OTEL_MON_HTTP__TOKEN'); u.urlopen(u.Request('http://127.0.0.1:' + os.environ.get('OTEL_MON_HTTP__PORT', '9464') + '/ready', headers={'Authorization': 'Bearer ' + t} if t else {}), timeout=4)"]
ENTRYPOINT ["otel-mon"]
CMD ["run", "--root-path", "/hostfs", "--listen", "0.0.0.0:9464"]
