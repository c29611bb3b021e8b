package main

import (
	"net/http"
	"net/url"
	"sort"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// report is client-go's whole reading of one kubeconfig: the loaded file (every cluster, user and
// context, not only the current one, so that an injected entry shows) and the rest.Config that a
// client built from it would use. Byte slices are base64 in JSON.
type report struct {
	ID        string      `json:"id"`
	LoadError string      `json:"loadError,omitempty"`
	Config    *configView `json:"config,omitempty"`
	RestError string      `json:"restError,omitempty"`
	Rest      *restView   `json:"rest,omitempty"`
}

type configView struct {
	CurrentContext string                 `json:"currentContext"`
	Clusters       map[string]clusterView `json:"clusters"`
	Users          map[string]userView    `json:"users"`
	Contexts       map[string]contextView `json:"contexts"`
	Extensions     []string               `json:"extensions,omitempty"`
}

type clusterView struct {
	Server                   string   `json:"server,omitempty"`
	TLSServerName            string   `json:"tls-server-name,omitempty"`
	InsecureSkipTLSVerify    bool     `json:"insecure-skip-tls-verify,omitempty"`
	CertificateAuthority     string   `json:"certificate-authority,omitempty"`
	CertificateAuthorityData []byte   `json:"certificate-authority-data,omitempty"`
	ProxyURL                 string   `json:"proxy-url,omitempty"`
	DisableCompression       bool     `json:"disable-compression,omitempty"`
	Extensions               []string `json:"extensions,omitempty"`
}

type userView struct {
	ClientCertificate     string              `json:"client-certificate,omitempty"`
	ClientCertificateData []byte              `json:"client-certificate-data,omitempty"`
	ClientKey             string              `json:"client-key,omitempty"`
	ClientKeyData         []byte              `json:"client-key-data,omitempty"`
	Token                 string              `json:"token,omitempty"`
	TokenFile             string              `json:"tokenFile,omitempty"`
	Impersonate           string              `json:"as,omitempty"`
	ImpersonateUID        string              `json:"as-uid,omitempty"`
	ImpersonateGroups     []string            `json:"as-groups,omitempty"`
	ImpersonateUserExtra  map[string][]string `json:"as-user-extra,omitempty"`
	Username              string              `json:"username,omitempty"`
	Password              string              `json:"password,omitempty"`
	HasAuthProvider       bool                `json:"auth-provider,omitempty"`
	HasExec               bool                `json:"exec,omitempty"`
	Extensions            []string            `json:"extensions,omitempty"`
}

type contextView struct {
	Cluster    string   `json:"cluster"`
	User       string   `json:"user"`
	Namespace  string   `json:"namespace,omitempty"`
	Extensions []string `json:"extensions,omitempty"`
}

// restView is the part of rest.Config that decides where a client connects, how it trusts the
// server and whom it authenticates as.
type restView struct {
	Host               string             `json:"host"`
	APIPath            string             `json:"apiPath,omitempty"`
	ServerName         string             `json:"serverName,omitempty"`
	Insecure           bool               `json:"insecure,omitempty"`
	CAFile             string             `json:"caFile,omitempty"`
	CAData             []byte             `json:"caData,omitempty"`
	CertFile           string             `json:"certFile,omitempty"`
	CertData           []byte             `json:"certData,omitempty"`
	KeyFile            string             `json:"keyFile,omitempty"`
	KeyData            []byte             `json:"keyData,omitempty"`
	BearerToken        string             `json:"bearerToken,omitempty"`
	BearerTokenFile    string             `json:"bearerTokenFile,omitempty"`
	Username           string             `json:"username,omitempty"`
	Password           string             `json:"password,omitempty"`
	Proxy              string             `json:"proxy,omitempty"`
	DisableCompression bool               `json:"disableCompression,omitempty"`
	Impersonate        *impersonationView `json:"impersonate,omitempty"`
	HasExecProvider    bool               `json:"execProvider,omitempty"`
	HasAuthProvider    bool               `json:"authProvider,omitempty"`
}

// impersonationView is rest.ImpersonationConfig with JSON names (it has none of its own).
type impersonationView struct {
	UserName string              `json:"userName,omitempty"`
	UID      string              `json:"uid,omitempty"`
	Groups   []string            `json:"groups,omitempty"`
	Extra    map[string][]string `json:"extra,omitempty"`
}

func inspect(req request) report {
	r := report{ID: req.ID}
	cfg, err := clientcmd.Load([]byte(req.Kubeconfig))
	if err != nil {
		r.LoadError = err.Error()
		return r
	}
	r.Config = viewConfig(cfg)
	restCfg, err := clientcmd.NewDefaultClientConfig(*cfg, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		r.RestError = err.Error()
		return r
	}
	r.Rest = viewRest(restCfg)
	return r
}

func viewConfig(cfg *clientcmdapi.Config) *configView {
	v := &configView{
		CurrentContext: cfg.CurrentContext,
		Clusters:       map[string]clusterView{},
		Users:          map[string]userView{},
		Contexts:       map[string]contextView{},
		Extensions:     extensionNames(cfg.Extensions),
	}
	for name, c := range cfg.Clusters {
		v.Clusters[name] = clusterView{
			Server: c.Server, TLSServerName: c.TLSServerName, InsecureSkipTLSVerify: c.InsecureSkipTLSVerify,
			CertificateAuthority: c.CertificateAuthority, CertificateAuthorityData: c.CertificateAuthorityData,
			ProxyURL: c.ProxyURL, DisableCompression: c.DisableCompression, Extensions: extensionNames(c.Extensions),
		}
	}
	for name, u := range cfg.AuthInfos {
		v.Users[name] = userView{
			ClientCertificate: u.ClientCertificate, ClientCertificateData: u.ClientCertificateData,
			ClientKey: u.ClientKey, ClientKeyData: u.ClientKeyData, Token: u.Token, TokenFile: u.TokenFile,
			Impersonate: u.Impersonate, ImpersonateUID: u.ImpersonateUID, ImpersonateGroups: u.ImpersonateGroups,
			ImpersonateUserExtra: u.ImpersonateUserExtra, Username: u.Username, Password: u.Password,
			HasAuthProvider: u.AuthProvider != nil, HasExec: u.Exec != nil, Extensions: extensionNames(u.Extensions),
		}
	}
	for name, c := range cfg.Contexts {
		v.Contexts[name] = contextView{Cluster: c.Cluster, User: c.AuthInfo, Namespace: c.Namespace, Extensions: extensionNames(c.Extensions)}
	}
	return v
}

func viewRest(c *rest.Config) *restView {
	v := &restView{
		Host: c.Host, APIPath: c.APIPath, ServerName: c.ServerName, Insecure: c.Insecure,
		CAFile: c.CAFile, CAData: c.CAData, CertFile: c.CertFile, CertData: c.CertData, KeyFile: c.KeyFile, KeyData: c.KeyData,
		BearerToken: c.BearerToken, BearerTokenFile: c.BearerTokenFile, Username: c.Username, Password: c.Password,
		DisableCompression: c.DisableCompression, HasExecProvider: c.ExecProvider != nil, HasAuthProvider: c.AuthProvider != nil,
	}
	if imp := c.Impersonate; imp.UserName != "" || imp.UID != "" || len(imp.Groups) > 0 || len(imp.Extra) > 0 {
		v.Impersonate = &impersonationView{UserName: imp.UserName, UID: imp.UID, Groups: imp.Groups, Extra: imp.Extra}
	}
	v.Proxy = proxyFor(c)
	return v
}

// proxyFor asks the configured Proxy function, as the transport would, where a request to the
// server goes; "" for a direct connection.
func proxyFor(c *rest.Config) string {
	if c.Proxy == nil {
		return ""
	}
	target, err := url.Parse(c.Host)
	if err != nil {
		return "error: " + err.Error()
	}
	u, err := c.Proxy(&http.Request{URL: target})
	if err != nil {
		return "error: " + err.Error()
	}
	if u == nil {
		return ""
	}
	return u.String()
}

func extensionNames[T any](m map[string]T) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil
	}
	return names
}
