# v2v_pipeline in a container: installed exactly like `make install` (requirements.lock, MediaPipe
# without its dependencies, the project itself), entry point `kedro run`.
#
#   CPU  (data pipelines, Dask workers):  docker build -t v2v-pipeline:cpu .
#   CUDA (training on a GPU worker):      docker build -t v2v-pipeline:cuda --build-arg VARIANT=cuda .
#
#   docker run --rm -v "$PWD/data:/app/data" v2v-pipeline:cpu                       # kedro run (the demo)
#   docker run --rm -v "$PWD/data:/app/data" v2v-pipeline:cpu --pipelines=data       # any `kedro run` options
#   docker run --rm --gpus all -v "$PWD/data:/app/data" v2v-pipeline:cuda --pipelines=train --env=gpu_full
#
# The torch wheels of requirements.lock are CUDA builds that carry their CUDA libraries and also run on
# the CPU, so both variants install the same lock; the CUDA variant starts from NVIDIA's CUDA runtime
# image (driver integration through the NVIDIA container toolkit, `--gpus all`). See docs/scaling.md.

ARG VARIANT=cpu
ARG PYTHON_VERSION=3.11

# ------------------------------------------------------------------ base images
FROM python:${PYTHON_VERSION}-slim-bookworm AS base-cpu

FROM nvidia/cuda:13.0.2-cudnn-runtime-ubuntu24.04 AS base-cuda
ARG PYTHON_VERSION
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends software-properties-common gpg-agent \
 && add-apt-repository -y ppa:deadsnakes/ppa \
 && apt-get update \
 && apt-get install -y --no-install-recommends python${PYTHON_VERSION} python${PYTHON_VERSION}-venv \
 && ln -sf /usr/bin/python${PYTHON_VERSION} /usr/local/bin/python3.11 \
 && rm -rf /var/lib/apt/lists/*

# ------------------------------------------------------------------ the project
FROM base-${VARIANT} AS final
ENV PYTHONUNBUFFERED=1 \
    KEDRO_DISABLE_TELEMETRY=true \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    MPLBACKEND=Agg
# libgl/libglib: opencv-contrib-python links them (docs/install.md) (.git is not copied: manifests record the
# package version as the code version, e.g. "v0.1 (no git)")
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app

# dependencies first, so editing the code does not reinstall them (same steps as `make install`)
COPY requirements.lock pyproject.toml README.md ./
RUN python3.11 -m venv /opt/venv \
 && pip install --no-cache-dir --upgrade pip==26.3 \
 && pip install --no-cache-dir --no-deps -r requirements.lock

COPY src ./src
COPY conf ./conf
RUN pip install --no-cache-dir --no-deps -e . \
 && mkdir -p data conf/local \
 && python -c "import v2v_pipeline.runners, v2v_pipeline.datasets"

# artifacts (data/) and the MLflow database are volumes or object storage, never baked into the image
VOLUME ["/app/data"]
ENTRYPOINT ["kedro", "run"]
CMD []
