# One image with both processes of the webhook processor, built from source:
#
#   docker build -t zentrix-webhooks .
#   docker run --rm zentrix-webhooks /receiver   (or /worker; docker-compose.yml picks one per service)
#
# Builder: golang:1.26-bookworm (docker-library/golang 1.26/bookworm); static binaries (CGO_ENABLED=0:
# the SQLite driver is pure Go). Runtime: gcr.io/distroless/static-debian12:nonroot, no shell, running as
# uid 65532; /healthcheck is the container health probe (deploy/healthcheck).
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0
# Modules in their own layer: rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags='-s -w' -o /out/ ./cmd/receiver ./cmd/worker ./deploy/healthcheck

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/receiver /out/worker /out/healthcheck /
# A writable working directory for the worker's default sqlite:.data/zentrix.db (mount a volume there to
# keep it); docker-compose.yml uses PostgreSQL instead.
WORKDIR /home/nonroot
USER nonroot:nonroot
# 8080: the receiver (HTTP_ADDR); 9090: the worker's metrics (METRICS_ADDR).
EXPOSE 8080 9090
CMD ["/receiver"]
