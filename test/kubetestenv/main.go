// Command kubetestenv runs a real, unmodified kube-apiserver with an embedded etcd and the
// garbage collector of kube-controller-manager on 127.0.0.1, for local development and tests.
//
// Everything it writes goes under $KTE_DIR: a CA, the serving certificate, a static admin token,
// an admin kubeconfig, the etcd data, and a `ready` marker once /readyz answers 200.
// Ports come from $KTE_API_PORT (0 or unset: a free port) so that the caller can keep them stable.
//
// The identity (CA, serving certificate, service-account key, admin token) is kept across restarts,
// including a crash, and created only when missing or unusable: a client that was connected before a
// restart keeps working afterwards, as it would with a real API server.
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

	id := loadOrCreateIdentity(p)
	ca, token := id.ca, id.token
	// The admin is in system:masters; the garbage collector uses the same identity.
	writeFileAtomic(p("tokens.csv"), []byte(token+`,admin,admin,"system:masters"`+"\n"))

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

// identity is what a client pins: the CA it trusts and the token it presents.
type identity struct {
	ca    *x509.Certificate
	token string
}

const (
	caValidity      = 10 * 365 * 24 * time.Hour
	servingValidity = 365 * 24 * time.Hour
	// A serving certificate this close to expiry is re-issued by the same CA: clients do not notice.
	servingRenewBefore = 30 * 24 * time.Hour
)

// loadOrCreateIdentity reuses every piece that is present and usable and creates only what is not.
// A new CA forces a new serving certificate; the admin token and service-account key are independent.
func loadOrCreateIdentity(p func(string) string) identity {
	now := time.Now()
	caKey, ca := loadKeyPair(p("ca.key"), p("ca.crt"))
	if ca == nil || !ca.IsCA || now.After(ca.NotAfter) {
		caKey, ca = newCert(nil, nil, "kubetestenv-ca", true, caValidity)
		writeKey(p("ca.key"), caKey)
		writePEM(p("ca.crt"), "CERTIFICATE", ca.Raw)
		fmt.Fprintln(os.Stderr, "kubetestenv: created a new CA")
	}
	_, srv := loadKeyPair(p("apiserver.key"), p("apiserver.crt"))
	if srv == nil || srv.CheckSignatureFrom(ca) != nil || now.Add(servingRenewBefore).After(srv.NotAfter) {
		key, cert := newCert(caKey, ca, "kube-apiserver", false, servingValidity)
		writeKey(p("apiserver.key"), key)
		writePEM(p("apiserver.crt"), "CERTIFICATE", cert.Raw)
		fmt.Fprintln(os.Stderr, "kubetestenv: issued a new serving certificate")
	}
	if loadKey(p("sa.key")) == nil {
		saKey, _ := newCert(nil, nil, "service-accounts", true, caValidity)
		writeKey(p("sa.key"), saKey)
	}
	token := ""
	if b, err := os.ReadFile(p("admin.token")); err == nil && validToken(string(b)) {
		token = string(b)
	} else {
		token = randHex(32)
		writeFileAtomic(p("admin.token"), []byte(token))
		fmt.Fprintln(os.Stderr, "kubetestenv: created a new admin token")
	}
	return identity{ca: ca, token: token}
}

// loadKeyPair returns the key and certificate when both parse and belong together, else nils.
func loadKeyPair(keyPath, certPath string) (*ecdsa.PrivateKey, *x509.Certificate) {
	key := loadKey(keyPath)
	if key == nil {
		return nil, nil
	}
	b, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, nil
	}
	return key, cert
}

func loadKey(path string) *ecdsa.PrivateKey {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "EC PRIVATE KEY" {
		return nil
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		return nil
	}
	return key
}

func validToken(t string) bool {
	if len(t) != 64 {
		return false
	}
	_, err := hex.DecodeString(t)
	return err == nil
}

func newCert(signer *ecdsa.PrivateKey, parent *x509.Certificate, cn string, isCA bool, validity time.Duration) (*ecdsa.PrivateKey, *x509.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	must(err)
	t := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(validity), BasicConstraintsValid: true}
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
	writeFileAtomic(path, []byte(fmt.Sprintf(`apiVersion: v1
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
`, server, ca, token)))
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
	writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}))
}

// writeFileAtomic replaces path in one rename, so a crash never leaves a half-written key or token
// that the next start would have to throw away.
func writeFileAtomic(path string, b []byte) {
	tmp := path + ".tmp"
	must(os.WriteFile(tmp, b, 0o600))
	f, err := os.Open(tmp)
	must(err)
	must(f.Sync())
	must(f.Close())
	must(os.Rename(tmp, path))
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
