// Pins the upstream Go modules whose CRDs the local API server installs.
// Nothing here is compiled: `go mod download` fetches these modules, checked against go.sum.
module clusterinventory-temporal/crds

go 1.26.0

require (
	github.com/projectsveltos/libsveltos v1.13.0
	sigs.k8s.io/cluster-inventory-api v0.1.3
)
