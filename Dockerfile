# The hardening image: the API (uvicorn), the Streamlit map and the one-shot jobs
# (`hardening db migrate`, `hardening db backup`) all run from it. See docs/deployment.md.
# Bookworm pinned: its postgresql-client-15 matches the postgis/postgis:15 server in
# docker-compose.yml (pg_dump must be the server's major version or newer).
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so a code change does not reinstall them: an editable install of an empty
# package. Editable, because the code finds sql/ (migrations) and sample_data/ beside the package.
COPY pyproject.toml README.md ./
RUN mkdir hardening && touch hardening/__init__.py \
    && pip install -e . \
    && rm -rf hardening

COPY sql ./sql
COPY sample_data ./sample_data
COPY hardening ./hardening
COPY ui ./ui
COPY pages ./pages
COPY .streamlit ./.streamlit
COPY app.py ./

# Never root: the service user owns nothing in /app, only its home and the backup folder.
RUN useradd --system --uid 10001 --create-home --shell /usr/sbin/nologin hardening \
    && mkdir -p /backups \
    && chown hardening /backups
USER hardening
ENV HARDENING_STATE_DIR=/home/hardening/state

EXPOSE 8000 8501
# The API; docker-compose.yml sets the command per service.
CMD ["uvicorn", "--factory", "hardening.api.app:create_app", "--host", "0.0.0.0", \
     "--port", "8000", "--proxy-headers", "--http", "httptools", "--loop", "uvloop"]
