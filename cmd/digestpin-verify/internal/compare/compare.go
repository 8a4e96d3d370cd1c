// Package compare decides whether pods run the images Git pins, container
// by container, and when one does not, names the likely cause.
//
// The guarantee: a container counts as running what Git pins only when the
// digest its node reports is the pinned digest, a platform manifest of the
// pinned index, or (when the runtime reports no repository digest) the
// config digest of the pinned image or of one of its platform images, as
// read from the registry. Anything else is a mismatch; nothing is assumed
// from tags, health, or the pod spec alone.
package compare

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"

	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/desired"
	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/escape"
	"github.com/digestpin/digestpin/cmd/digestpin-verify/internal/imageid"
	"github.com/digestpin/digestpin/internal/registry"
)

// Status is the verdict on one container.
type Status string

const (
	// Match: the node runs the digest Git pins.
	Match Status = "match"
	// Mismatch: it does not, or it could not be shown to.
	Mismatch Status = "mismatch"
	// NotInGit: the pod has a container its workload's template in Git does
	// not declare (a sidecar added on admission). It is listed, not judged.
	NotInGit Status = "not-in-git"
)

// Cause is the likely reason for a mismatch.
type Cause string

const (
	// OlderRevision: the pod belongs to an older revision of its workload
	// (a ReplicaSet a Deployment has moved past) and is still running.
	OlderRevision Cause = "older-revision"
	// AdmissionRewrite: the pod's image is not what its template names; a
	// mutating webhook changed it when the pod was created.
	AdmissionRewrite Cause = "admission-rewrite"
	// RegistryHost: the pod or the node pulled the image from another
	// registry host than Git names (a mirror).
	RegistryHost Cause = "registry-host"
	// RuntimeDigest: the pod asks for the pinned reference, but the node
	// reports another digest for it.
	RuntimeDigest Cause = "runtime-digest"
	// NotPinned: Git names the image without a digest.
	NotPinned Cause = "not-pinned"
	// NoImageID: the node has not reported what it runs for the container.
	NoImageID Cause = "no-image-id"
	// Unconfirmed: the digest differs and the registry could not be read to
	// check whether it is a platform or config digest of the pinned image.
	Unconfirmed Cause = "unconfirmed"
)

// Pod is a pod to judge, with what is known about where it came from.
type Pod struct {
	Pod *corev1.Pod
	// Workload is the object in Git the pod was made from.
	Workload desired.Workload
	// Stale, when not "", says why the pod belongs to an older revision of
	// its workload, e.g. "its ReplicaSet shop/web-7c9d is revision 1 of
	// Deployment shop/web, which is at revision 2".
	Stale string
}

// Row is the verdict on one container of one pod.
type Row struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Container string `json:"container"`
	Init      bool   `json:"init"`
	// Workload is the object in Git, e.g. "Deployment.apps shop/web".
	Workload string `json:"workload"`
	// Expected is the image Git pins, as written; "" for NotInGit.
	Expected string `json:"expected"`
	// ExpectedDigest is its digest, "" when Git names none.
	ExpectedDigest string `json:"expectedDigest"`
	// PodImage is the image the pod's spec asks for.
	PodImage string `json:"podImage"`
	// ImageID is what the node reports, as reported.
	ImageID string `json:"imageID"`
	// Actual is the digest in ImageID, "" when there is none.
	Actual string `json:"actual"`
	Status Status `json:"status"`
	// Note explains a match that is not digest equality, e.g. "platform
	// linux/amd64 of the pinned index".
	Note string `json:"note,omitempty"`
	// Cause and Detail explain a mismatch.
	Cause  Cause  `json:"cause,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Registry reads what a pinned image holds. registry.ResolveContents
// satisfies it through Lookup.
type Registry interface {
	Contents(ctx context.Context, ref string) (registry.Contents, error)
}

// Lookup reads contents from the registry with registry.ResolveContents.
type Lookup struct {
	Options []registry.Option
}

// Contents implements Registry.
func (l Lookup) Contents(ctx context.Context, ref string) (registry.Contents, error) {
	_, c, err := registry.ResolveContents(ctx, ref, l.Options...)
	return c, err
}

// Compare judges every container and init container of every pod. The
// registry is asked only about digests that differ from the pin, once per
// pinned image, and for a bare digest once per platform image.
func Compare(ctx context.Context, pods []Pod, reg Registry) []Row {
	c := &comparer{reg: reg, contents: map[string]lookup{}}
	var rows []Row
	for _, p := range pods {
		rows = append(rows, c.pod(ctx, p)...)
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.Namespace+"/"+a.Pod != b.Namespace+"/"+b.Pod {
			return a.Namespace+"/"+a.Pod < b.Namespace+"/"+b.Pod
		}
		return a.Init && !b.Init
	})
	return rows
}

type lookup struct {
	c   registry.Contents
	err error
}

type comparer struct {
	reg      Registry
	contents map[string]lookup
}

func (c *comparer) pod(ctx context.Context, p Pod) []Row {
	statuses := map[string]corev1.ContainerStatus{}
	for _, s := range p.Pod.Status.InitContainerStatuses {
		statuses["init/"+s.Name] = s
	}
	for _, s := range p.Pod.Status.ContainerStatuses {
		statuses["/"+s.Name] = s
	}
	var rows []Row
	add := func(spec corev1.Container, init bool) {
		prefix := "/"
		if init {
			prefix = "init/"
		}
		status, reported := statuses[prefix+spec.Name]
		row := Row{
			Namespace: p.Pod.Namespace,
			Pod:       p.Pod.Name,
			Container: spec.Name,
			Init:      init,
			Workload:  p.Workload.Key.String(),
			PodImage:  spec.Image,
			ImageID:   status.ImageID,
		}
		want, inGit := p.Workload.Container(spec.Name, init)
		if !inGit {
			row.Status = NotInGit
			if id, err := imageid.Parse(status.ImageID); err == nil {
				row.Actual = id.Digest
			}
			row.Note = fmt.Sprintf("not in %s's template in Git: added on admission", p.Workload.Key)
			rows = append(rows, row)
			return
		}
		row.Expected = want.Image
		c.judge(ctx, &row, p, reported)
		rows = append(rows, row)
	}
	for _, ctr := range p.Pod.Spec.InitContainers {
		add(ctr, true)
	}
	for _, ctr := range p.Pod.Spec.Containers {
		add(ctr, false)
	}
	return rows
}

func (c *comparer) judge(ctx context.Context, row *Row, p Pod, reported bool) {
	row.Status = Mismatch
	pin, err := imageid.ParseRef(row.Expected)
	if err != nil {
		row.Cause, row.Detail = NotPinned, fmt.Sprintf("Git's image is not a valid reference: %v", err)
		return
	}
	if !pin.Pinned() {
		row.Cause, row.Detail = NotPinned, "Git names this image without a digest, so there is nothing to hold the node to; pin it with digestpin promote"
		return
	}
	row.ExpectedDigest = pin.Digest
	if !reported || row.ImageID == "" {
		row.Cause, row.Detail = NoImageID, "the node reports no image ID for this container: it has not started"
		return
	}
	id, err := imageid.Parse(row.ImageID)
	if err != nil {
		row.Cause, row.Detail = NoImageID, err.Error()
		return
	}
	row.Actual = id.Digest
	if id.Digest == pin.Digest {
		row.Status = Match
		return
	}

	// A node reports the platform manifest it pulled, not the index Git
	// pins; a runtime without a repository digest reports the config.
	contents, err := c.lookup(ctx, pin.Repository+"@"+pin.Digest)
	if err != nil {
		row.Cause, row.Detail = cause(pin, id, row.PodImage, p)
		if asksForPin(row.PodImage, pin) {
			// Nothing else explains the difference: without the registry
			// it cannot be told from a platform digest.
			row.Cause = Unconfirmed
			row.Detail = fmt.Sprintf("the node reports %s; reading the pinned image from the registry, to check whether that is one of its platforms, failed: %v", id.Digest, err)
		} else {
			row.Detail += fmt.Sprintf(" (the registry could not be read to rule out a platform digest: %v)", err)
		}
		return
	}
	for _, pl := range contents.Platforms {
		if pl.Digest == id.Digest {
			row.Status, row.Note = Match, "platform "+orUnknown(pl.Platform)+" of the pinned index"
			return
		}
	}
	if id.Bare() {
		if contents.Config == id.Digest {
			row.Status, row.Note = Match, "the runtime reports the pinned image's config digest"
			return
		}
		for _, pl := range contents.Platforms {
			child, err := c.lookup(ctx, pin.Repository+"@"+pl.Digest)
			if err != nil {
				row.Cause = Unconfirmed
				row.Detail = fmt.Sprintf("the node reports only %s; reading platform %s of the pinned index from the registry, to compare config digests, failed: %v", id.Digest, orUnknown(pl.Platform), err)
				return
			}
			if child.Config == id.Digest {
				row.Status, row.Note = Match, "the runtime reports the config digest of platform "+orUnknown(pl.Platform)+" of the pinned index"
				return
			}
		}
	}
	row.Cause, row.Detail = cause(pin, id, row.PodImage, p)
}

func (c *comparer) lookup(ctx context.Context, ref string) (registry.Contents, error) {
	if l, ok := c.contents[ref]; ok {
		return l.c, l.err
	}
	contents, err := c.reg.Contents(ctx, ref)
	c.contents[ref] = lookup{contents, err}
	return contents, err
}

// cause names the likely reason a container runs another digest than Git
// pins.
func cause(pin imageid.Ref, id imageid.ID, podImage string, p Pod) (Cause, string) {
	asked, err := imageid.ParseRef(podImage)
	if !asksForPin(podImage, pin) {
		// The pod does not ask for what Git pins.
		switch {
		case p.Stale != "":
			return OlderRevision, "a pod of an older revision is still running: " + p.Stale
		case err == nil && imageid.Path(asked.Repository) == imageid.Path(pin.Repository) && imageid.Host(asked.Repository) != imageid.Host(pin.Repository):
			return RegistryHost, fmt.Sprintf("the pod asks for registry host %s where Git names %s: its image was rewritten on admission (a registry mirror policy)", imageid.Host(asked.Repository), imageid.Host(pin.Repository))
		default:
			return AdmissionRewrite, fmt.Sprintf("the pod asks for %s, not the image its template in Git names: rewritten on admission (a mutating webhook)", escape.Field(podImage))
		}
	}
	if !id.Bare() && imageid.Host(id.Repository) != imageid.Host(pin.Repository) {
		return RegistryHost, fmt.Sprintf("the node pulled from registry host %s where Git names %s: a registry mirror served other content", imageid.Host(id.Repository), imageid.Host(pin.Repository))
	}
	if id.Bare() {
		return RuntimeDigest, "the pod asks for the pinned image, but the runtime reports only a digest that is neither the pinned digest, a platform of it, nor a config digest of it: the node runs a locally built or loaded image"
	}
	return RuntimeDigest, "the pod asks for the pinned image, but the node reports another digest for it: the runtime resolved it elsewhere (a node-level registry rewrite)"
}

// asksForPin reports whether a pod's image is the pinned repository and
// digest.
func asksForPin(podImage string, pin imageid.Ref) bool {
	asked, err := imageid.ParseRef(podImage)
	return err == nil && asked.Repository == pin.Repository && asked.Digest == pin.Digest
}

func orUnknown(platform string) string {
	if platform == "" {
		return "(unnamed platform)"
	}
	return platform
}
