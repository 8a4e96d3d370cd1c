# The digestpin sidecar image for argocd-repo-server.
#
# The image holds the digestpin binary and nothing else. The sidecar runs
# Argo CD's own argocd-cmp-server (a static binary that argocd-repo-server's
# copyutil init container puts in the shared var-files volume), with
# command [/var/run/argocd/argocd-cmp-server] set in manifests/, and that
# server runs `digestpin generate` from PATH as plugin.yaml says. So there is
# no ENTRYPOINT here; CMD only prints the help when the image is run alone.
#
#   docker build \
#     --build-arg VERSION=v0.1.0 \
#     --build-arg REVISION="$(git rev-parse HEAD)" \
#     -t ghcr.io/digestpin/digestpin:v0.1.0 .
#
# Every FROM is pinned by digest: digestpin refuses tags that the registry can
# move, and so does its own build. The tag in front of each digest is for
# people; the digest is what is pulled. To move a pin, resolve the tag again
# (for example `crane digest golang:1.26.8-bookworm`) and replace both.
# manifests/dockerfile_test.go fails when a FROM loses its digest.

# Build stage: runs on the build machine's platform and cross-compiles for
# the target one, so a multi-platform build needs no emulation.
FROM --platform=$BUILDPLATFORM golang:1.26.8-bookworm@sha256:a688600ca24f8a4d3ca77f95b0dd40704a9fc787c826660eb7ba0b641b8b175d AS build

WORKDIR /src

# Modules first, in their own layer, so editing the source does not download
# them again.
COPY go.mod go.sum ./
RUN go mod download

# Only the packages the binary is built from (manifests/dockerfile_test.go
# checks that this list covers every package ./cmd/digestpin imports). No
# .git is copied, so Go stamps no VCS information: the revision is in the
# image labels instead.
COPY cmd/ cmd/
COPY examples/ examples/
COPY internal/ internal/
COPY plugin/ plugin/

ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/digestpin ./cmd/digestpin

# Runtime stage: distroless static (no shell, no package manager; CA
# certificates and tzdata only). The binary is static (CGO_ENABLED=0), and so
# is the argocd-cmp-server that the sidecar mounts from the repo-server.
FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab

ARG VERSION=dev
ARG REVISION=unknown
ARG SOURCE=https://github.com/digestpin/digestpin
LABEL org.opencontainers.image.title="digestpin" \
      org.opencontainers.image.description="Argo CD Config Management Plugin that renders kustomizations only when every image is pinned by digest" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}"

COPY --from=build /out/digestpin /usr/local/bin/digestpin

# Argo CD's user: argocd-cmp-server must run as 999, like the repo-server,
# to share the plugins socket directory with it.
USER 999:999

CMD ["/usr/local/bin/digestpin", "--help"]
