package desired

import (
	"reflect"
	"strings"
	"testing"
)

func TestWorkloadsFindEveryPodTemplate(t *testing.T) {
	manifests := []string{
		// JSON, as Argo CD's repo-server returns manifests.
		`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"},"spec":{"template":{"spec":{"initContainers":[{"name":"migrate","image":"ghcr.io/acme/migrate@sha256:aa"}],"containers":[{"name":"web","image":"ghcr.io/acme/web:v1@sha256:bb"}]}}}}`,
		"apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: report\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n          - name: report\n            image: ghcr.io/acme/report@sha256:cc\n",
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"debug","namespace":"tools"},"spec":{"containers":[{"name":"sh","image":"busybox:1.36"}]}}`,
		`{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"canary"},"spec":{"template":{"spec":{"containers":[{"name":"app","image":"ghcr.io/acme/app@sha256:dd"}]}}}}`,
		`{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"port":80}]}}`,
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"template"},"data":{"spec":"x"}}`,
	}
	got, err := Workloads(manifests, "shop")
	if err != nil {
		t.Fatal(err)
	}
	want := map[Key]Workload{
		{"apps", "Deployment", "shop", "web"}: {Key{"apps", "Deployment", "shop", "web"}, []Container{
			{"migrate", true, "ghcr.io/acme/migrate@sha256:aa"}, {"web", false, "ghcr.io/acme/web:v1@sha256:bb"}}},
		{"batch", "CronJob", "shop", "report"}: {Key{"batch", "CronJob", "shop", "report"}, []Container{
			{"report", false, "ghcr.io/acme/report@sha256:cc"}}},
		{"", "Pod", "tools", "debug"}: {Key{"", "Pod", "tools", "debug"}, []Container{
			{"sh", false, "busybox:1.36"}}},
		{"argoproj.io", "Rollout", "shop", "canary"}: {Key{"argoproj.io", "Rollout", "shop", "canary"}, []Container{
			{"app", false, "ghcr.io/acme/app@sha256:dd"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Workloads =\n%+v\nwant\n%+v", got, want)
	}
	var names []string
	for _, w := range Sorted(got) {
		names = append(names, w.Key.String())
	}
	if strings.Join(names, ", ") != "CronJob.batch shop/report, Deployment.apps shop/web, Pod tools/debug, Rollout.argoproj.io shop/canary" {
		t.Errorf("Sorted: %v", names)
	}
	w := got[Key{"apps", "Deployment", "shop", "web"}]
	if c, ok := w.Container("migrate", true); !ok || c.Image != "ghcr.io/acme/migrate@sha256:aa" {
		t.Errorf("Container(migrate, init) = %+v, %v", c, ok)
	}
	if _, ok := w.Container("migrate", false); ok {
		t.Error("an init container was found as a container")
	}
}

func TestWorkloadsRefuseWhatIsNotAnObject(t *testing.T) {
	for _, tc := range []struct{ manifest, want string }{
		{`{"kind":"Deployment"`, "manifest 2 of 2 from Argo CD is not valid YAML or JSON: "},
		{`{"kind":"Deployment","metadata":{"name":"web"}}`, "manifest 2 of 2 from Argo CD: not a Kubernetes object: apiVersion, kind or metadata.name is missing"},
	} {
		_, err := Workloads([]string{`{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"}}`, tc.manifest}, "shop")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Workloads(%s) = %v, want %s", tc.manifest, err, tc.want)
		}
	}
}
