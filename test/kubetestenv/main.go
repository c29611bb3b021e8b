// Command kubetestenv runs a real, unmodified kube-apiserver with an embedded etcd and the
// garbage collector of kube-controller-manager on 127.0.0.1, for local development and tests.
//
// Everything it writes goes under $KTE_DIR: a CA, the serving certificate, a static admin token,
// an admin kubeconfig, the etcd data, and a `ready` marker once /readyz answers 200.
// Ports come from $KTE_API_PORT (0 or unset: a free port) so that the caller can keep them stable.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
	_ "time/tzdata" // upstream main imports it (CronJob time zones)

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/client-go/discovery"
	cacheddiscovery "k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/controller-manager/pkg/informerfactory"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	"k8s.io/kubernetes/pkg/controller/garbagecollector"
)

const host = "127.0.0.1"

func main() {
	dir := os.Getenv("KTE_DIR")
	if dir == "" {
		die(fmt.Errorf("KTE_DIR not set"))
	}
	must(os.MkdirAll(dir, 0o700))
	p := func(f string) string { return filepath.Join(dir, f) }
	_ = os.Remove(p("ready"))

	apiPort := envPort("KTE_API_PORT")
	server := "https://" + net.JoinHostPort(host, strconv.Itoa(apiPort))

	caKey, ca := newCert(nil, nil, "kubetestenv-ca", true)
	srvKey, srv := newCert(caKey, ca, "kube-apiserver", false)
	writePEM(p("ca.crt"), "CERTIFICATE", ca.Raw)
	writePEM(p("apiserver.crt"), "CERTIFICATE", srv.Raw)
	writeKey(p("apiserver.key"), srvKey)
	saKey, _ := newCert(nil, nil, "service-accounts", true)
	writeKey(p("sa.key"), saKey)
	token := randHex(32)
	// The admin is in system:masters; the garbage collector uses the same identity.
	must(os.WriteFile(p("tokens.csv"), []byte(token+`,admin,admin,"system:masters"`+"\n"), 0o600))

	// etcd in-process, configured like k8s.io/apiserver/pkg/storage/etcd3/testserver.
	cfg := embed.NewConfig()
	cfg.Dir, cfg.LogLevel, cfg.UnsafeNoFsync = p("etcd"), "error", true
	cu := url.URL{Scheme: "http", Host: net.JoinHostPort(host, strconv.Itoa(freePort()))}
	pu := url.URL{Scheme: "http", Host: net.JoinHostPort(host, strconv.Itoa(freePort()))}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ListenMetricsUrls = nil
	etcd, err := embed.StartEtcd(cfg)
	must(err)
	select {
	case <-etcd.Server.ReadyNotify():
	case <-time.After(120 * time.Second):
		die(fmt.Errorf("etcd not ready after 120s"))
	}

	// envtest's defaults plus static token auth. Extra arguments are appended: scalar flags, last wins.
	args := []string{
		"--bind-address=" + host, "--advertise-address=" + host, "--secure-port=" + strconv.Itoa(apiPort),
		"--tls-cert-file=" + p("apiserver.crt"), "--tls-private-key-file=" + p("apiserver.key"),
		"--client-ca-file=" + p("ca.crt"), "--token-auth-file=" + p("tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=" + server + "/",
		"--service-account-key-file=" + p("sa.key"), "--service-account-signing-key-file=" + p("sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true",
		"--disable-admission-plugins=ServiceAccount", // no token controller runs, so no default ServiceAccount
		"--endpoint-reconciler-type=none",
		"--etcd-servers=" + cu.String(),
	}
	writeKubeconfig(p("kubeconfig"), server, ca.Raw, token)
	restCfg := &rest.Config{Host: server, BearerToken: token, QPS: 200, Burst: 400,
		TLSClientConfig: rest.TLSClientConfig{CAData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})}}

	ctx, cancel := context.WithCancel(context.Background())
	// The API server installs its own signal handler; this one only stops our garbage collector (whose
	// watches would otherwise hold the server's shutdown open) and bounds the whole shutdown.
	stopping := make(chan os.Signal, 1)
	signal.Notify(stopping, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stopping
		cancel()
		time.Sleep(20 * time.Second)
		fmt.Fprintln(os.Stderr, "kubetestenv: shutdown took longer than 20s, exiting")
		os.Exit(0)
	}()
	go func() {
		waitReady(server, ca, token)
		if os.Getenv("KTE_DISABLE_GC") == "" {
			must(runGarbageCollector(ctx, restCfg))
		}
		must(os.WriteFile(p("ready"), []byte(server+"\n"), 0o600))
	}()

	cmd := app.NewAPIServerCommand() // installs its own SIGTERM/SIGINT handler
	cmd.SetArgs(append(args, os.Args[1:]...))
	code := cli.Run(cmd)
	cancel()
	etcd.Close()
	os.Exit(code)
}

// runGarbageCollector starts the generic garbage collector exactly as kube-controller-manager wires
// it, so that ownerReference cleanup (foreground, background and orphan) is real in tests.
func runGarbageCollector(ctx context.Context, cfg *rest.Config) error {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		return err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(cacheddiscovery.NewMemCacheClient(disc))
	shared := informers.NewSharedInformerFactory(kube, 0)
	metaInformers := metadatainformer.NewSharedInformerFactory(meta, 0)
	factory := informerfactory.NewInformerFactory(shared, metaInformers)
	started := make(chan struct{})
	gc, err := garbagecollector.NewGarbageCollector(ctx, kube, meta, mapper,
		garbagecollector.DefaultIgnoredResources(), factory, started)
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	close(started)
	// A short discovery period so that CRDs installed after start-up are collected within seconds.
	const syncPeriod = 2 * time.Second
	go gc.Run(ctx, 5, 30*time.Second)
	go gc.Sync(ctx, disc, syncPeriod)
	return nil
}

func envPort(name string) int {
	v := os.Getenv(name)
	if v == "" || v == "0" {
		return freePort()
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > 65535 {
		die(fmt.Errorf("%s=%q is not a port number", name, v))
	}
	return n
}

func newCert(signer *ecdsa.PrivateKey, parent *x509.Certificate, cn string, isCA bool) (*ecdsa.PrivateKey, *x509.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	must(err)
	t := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour), BasicConstraintsValid: true}
	if isCA {
		t.IsCA, t.KeyUsage = true, x509.KeyUsageCertSign|x509.KeyUsageDigitalSignature
		parent, signer = t, key
	} else {
		t.KeyUsage, t.ExtKeyUsage = x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		t.DNSNames = []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"}
		t.IPAddresses = []net.IP{net.ParseIP(host), net.IPv6loopback, net.ParseIP("10.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, t, parent, &key.PublicKey, signer)
	must(err)
	c, err := x509.ParseCertificate(der)
	must(err)
	return key, c
}

func waitReady(server string, ca *x509.Certificate, token string) {
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for {
		req, _ := http.NewRequest(http.MethodGet, server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if r, err := c.Do(req); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func writeKubeconfig(path, server string, caDER []byte, token string) {
	ca := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	must(os.WriteFile(path, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubetestenv
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: kubetestenv
  context: {cluster: kubetestenv, user: admin, namespace: default}
current-context: kubetestenv
`, server, ca, token)), 0o600))
}

// freePort has the same small bind race as envtest's addr.Suggest.
func freePort() int {
	l, err := net.Listen("tcp", host+":0")
	must(err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeKey(path string, k *ecdsa.PrivateKey) {
	// SEC1 form: the service-account flags parse public keys out of "EC PRIVATE KEY" blocks, not PKCS#8.
	b, err := x509.MarshalECPrivateKey(k)
	must(err)
	writePEM(path, "EC PRIVATE KEY", b)
}

func writePEM(path, typ string, b []byte) {
	must(os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600))
}

func randHex(n int) string {
	b := make([]byte, n)
	_, err := rand.Read(b)
	must(err)
	return hex.EncodeToString(b)
}

func must(err error) {
	if err != nil {
		die(err)
	}
}

func die(err error) {
	fmt.Fprintln(os.Stderr, "kubetestenv:", err)
	os.Exit(1)
}
