# justif — web service and Celery worker image (slim Debian, Python 3.11).
# Build: docker build -t justif .   Run: see compose.yaml and docs/deploy.md.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    JUSTIF_DATA_DIR=/data

# Tesseract with French and English, libmagic for the type gate, fonts for generated
# documents. No Ghostscript: Pillow's EPS plugin would call it (security.md §5.2).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-fra tesseract-ocr-eng libmagic1 \
      fonts-dejavu-core fonts-liberation libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system justif && useradd --system --gid justif --home-dir /app --shell /usr/sbin/nologin justif

WORKDIR /app
COPY pyproject.toml README.md ./
COPY intake ./intake
COPY validators ./validators
COPY ocr ./ocr
COPY web ./web
RUN pip install . gunicorn

RUN mkdir -p /data && chown justif:justif /data && chmod 0700 /data
VOLUME ["/data"]
USER justif
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"

# The worker runs the same image: `justif worker` (see compose.yaml).
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--timeout", "60", "web:create_app()"]
