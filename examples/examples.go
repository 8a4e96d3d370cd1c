// Package examples embeds the sample apps, which `digestpin demo` deploys
// into a throwaway config repository.
package examples

import "embed"

// Shop is a base with a Deployment (an init container and an app
// container) and a Service; prod pins its images by digest, staging does
// not.
//
//go:embed shop
var Shop embed.FS

// Registry is the registry and organisation the sample images name; the
// demo replaces it with its own in-process registry.
const Registry = "ghcr.io/acme"
