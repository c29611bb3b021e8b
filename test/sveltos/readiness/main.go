// Command readiness is a test stand-in for ONE Sveltos binary, sveltoscluster-manager, which the Go
// module proxy does not serve. It does the part of it that decides whether Sveltos can use a cluster:
// for every SveltosCluster (push mode, not paused) it reads the kubeconfig Secret named by
// spec.kubeconfigName/kubeconfigKeyName with libsveltos' own code (lib/clusterproxy), builds the
// rest.Config from it the way Sveltos does, and probes GET /version. On success it sets status.ready,
// status.version, connectionStatus=Healthy, connectionFailures=0, clears failureMessage and sets the
// label projectsveltos.io/k8s-version; on failure it sets failureMessage, bumps connectionFailures and
// sets connectionStatus=Down once they reach spec.consecutiveFailureThreshold (default 3). `ready` is
// sticky, as in sveltoscluster-manager. It does not renew tokens (tokenRequestRenewalOption), run
// readiness/liveness checks, or handle active windows and pull mode.
//
// It runs outside the cluster against $KUBECONFIG (the hub) and polls every --interval instead of
// reconciling on watch events plus a 1-minute requeue: the tests then see a result within seconds.
// With --namespace-selector it probes only SveltosClusters in matching namespaces: the test stack's
// other tests write SveltosClusters for fictitious clusters and assert that nobody else writes them.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	libsveltosv1beta1 "github.com/projectsveltos/libsveltos/api/v1beta1"
	"github.com/projectsveltos/libsveltos/lib/clusterproxy"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	versionLabel     = "projectsveltos.io/k8s-version"
	defaultThreshold = 3
)

func main() {
	interval := flag.Duration("interval", 2*time.Second, "how often every SveltosCluster is probed")
	probeTimeout := flag.Duration("probe-timeout", 5*time.Second, "timeout of one GET /version")
	nsSelector := flag.String("namespace-selector", "", "label selector of the namespaces whose SveltosClusters are probed (empty: all)")
	flag.Parse()
	selector, err := labels.Parse(*nsSelector)
	if err != nil {
		fail(err)
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		fail(err)
	}
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		fail(err)
	}
	if err := libsveltosv1beta1.AddToScheme(scheme); err != nil {
		fail(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		fail(err)
	}
	logger := funcr.New(func(prefix, args string) { fmt.Fprintln(os.Stderr, prefix, args) }, funcr.Options{})

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	fmt.Fprintln(os.Stderr, "readiness: probing SveltosClusters every", interval.String())
	for {
		for _, ns := range namespaces(ctx, c, *nsSelector, selector) {
			probeAll(ctx, c, logger, ns, *probeTimeout)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(*interval):
		}
	}
}

// namespaces returns the namespaces to probe; "" stands for all of them.
func namespaces(ctx context.Context, c client.Client, raw string, selector labels.Selector) []string {
	if raw == "" {
		return []string{""}
	}
	list := &corev1.NamespaceList{}
	if err := c.List(ctx, list, client.MatchingLabelsSelector{Selector: selector}); err != nil {
		fmt.Fprintln(os.Stderr, "readiness: list namespaces:", err)
		return nil
	}
	out := make([]string, 0, len(list.Items))
	for _, ns := range list.Items {
		out = append(out, ns.Name)
	}
	return out
}

func probeAll(ctx context.Context, c client.Client, logger logr.Logger, namespace string, timeout time.Duration) {
	list := &libsveltosv1beta1.SveltosClusterList{}
	if err := c.List(ctx, list, client.InNamespace(namespace)); err != nil {
		fmt.Fprintln(os.Stderr, "readiness: list SveltosClusters:", err)
		return
	}
	for i := range list.Items {
		sc := &list.Items[i]
		if sc.DeletionTimestamp != nil || sc.Spec.Paused || sc.Spec.PullMode {
			continue
		}
		gitVersion, probeErr := probe(ctx, c, logger, sc, timeout)
		if err := record(ctx, c, sc, gitVersion, probeErr); err != nil {
			fmt.Fprintf(os.Stderr, "readiness: update %s/%s: %v\n", sc.Namespace, sc.Name, err)
		}
	}
}

// probe reads the cluster's kubeconfig through libsveltos and asks the cluster for its version.
func probe(ctx context.Context, c client.Client, logger logr.Logger, sc *libsveltosv1beta1.SveltosCluster, timeout time.Duration) (string, error) {
	restCfg, err := clusterproxy.GetSveltosKubernetesRestConfig(ctx, logger, c, sc.Namespace, sc.Name)
	if err != nil {
		return "", err
	}
	restCfg.Timeout = timeout
	dc, err := discovery.NewDiscoveryClientForConfig(restCfg)
	if err != nil {
		return "", err
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return "", err
	}
	return v.GitVersion, nil
}

func record(ctx context.Context, c client.Client, sc *libsveltosv1beta1.SveltosCluster, gitVersion string, probeErr error) error {
	before := sc.DeepCopy()
	st := &sc.Status
	if probeErr == nil {
		st.Ready = true
		st.Version = gitVersion
		st.FailureMessage = nil
		st.ConnectionFailures = 0
		st.ConnectionStatus = libsveltosv1beta1.ConnectionHealthy
	} else {
		msg := probeErr.Error()
		st.FailureMessage = &msg
		st.ConnectionFailures++
		threshold := sc.Spec.ConsecutiveFailureThreshold
		if threshold <= 0 {
			threshold = defaultThreshold
		}
		if st.ConnectionFailures >= threshold {
			st.ConnectionStatus = libsveltosv1beta1.ConnectionDown
		}
	}
	if err := c.Status().Patch(ctx, sc, client.MergeFrom(before)); err != nil {
		return err
	}
	if probeErr != nil {
		return nil
	}
	v, err := version.ParseGeneric(gitVersion)
	if err != nil {
		return nil //nolint:nilerr // a version without semver shape gets no label, like upstream
	}
	label := fmt.Sprintf("v%d.%d.%d", v.Major(), v.Minor(), v.Patch())
	if sc.Labels[versionLabel] == label {
		return nil
	}
	withLabels := sc.DeepCopy()
	if withLabels.Labels == nil {
		withLabels.Labels = map[string]string{}
	}
	withLabels.Labels[versionLabel] = label
	return c.Patch(ctx, withLabels, client.MergeFrom(sc))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "readiness:", err)
	os.Exit(1)
}
