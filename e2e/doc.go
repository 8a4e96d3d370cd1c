// Package e2e tests digestpin inside Argo CD's own code: the CMP server
// (argo-cd's cmpserver) loading the project's plugin.yaml, driven through
// the repo-server's manifest generation. It is its own module so that the
// shipped binary does not carry Argo CD's dependency tree.
package e2e
