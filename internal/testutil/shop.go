package testutil

// ShopDigest is the digest the shop's prod overlay pins every image to.
const ShopDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// Shop is a small repository: a base, a prod overlay that pins the web
// image, and a staging overlay that leaves images on tags.
var Shop = map[string]string{
	"apps/shop/base/kustomization.yaml": "resources: [deployment.yaml, cronjob.yaml]\n",
	"apps/shop/base/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      initContainers:
      - name: migrate
        image: ghcr.io/acme/migrate:v7
      containers:
      - name: app
        image: ghcr.io/acme/web:v1.2
`,
	"apps/shop/base/cronjob.yaml": `apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: report
            image: ghcr.io/acme/report
`,
	"apps/shop/prod/kustomization.yaml": `namespace: shop
resources: [../base]
images:
- name: ghcr.io/acme/web
  newTag: v1.2
  digest: ` + ShopDigest + `
- name: ghcr.io/acme/migrate
  newTag: v7
  digest: ` + ShopDigest + `
- name: ghcr.io/acme/report
  digest: ` + ShopDigest + `
`,
	"apps/shop/staging/kustomization.yaml": "namespace: shop-staging\nresources: [../base]\n",
}
