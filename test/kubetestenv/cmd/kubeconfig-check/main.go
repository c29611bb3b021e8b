// kubeconfig-check prints what client-go makes of a kubeconfig: it reads one from stdin, loads it with
// clientcmd.Load (the decoder client-go, and so sveltoscluster-manager, uses) and prints the current
// context's cluster and user as one JSON object. Tests compare that with what clusterinventory reads
// and renders (test/integration/kubeconfig-client-go.test.ts). A test tool: it prints credentials.
package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"os"

	"k8s.io/client-go/tools/clientcmd"
)

type view struct {
	Error                    string `json:"error,omitempty"`
	Context                  string `json:"context"`
	Server                   string `json:"server,omitempty"`
	CertificateAuthorityData string `json:"certificateAuthorityData,omitempty"`
	CertificateAuthority     string `json:"certificateAuthority,omitempty"`
	TLSServerName            string `json:"tlsServerName,omitempty"`
	InsecureSkipTLSVerify    bool   `json:"insecureSkipTLSVerify,omitempty"`
	ProxyURL                 string `json:"proxyURL,omitempty"`
	DisableCompression       bool   `json:"disableCompression,omitempty"`
	ClusterFound             bool   `json:"clusterFound"`
	UserFound                bool   `json:"userFound"`
	Token                    string `json:"token,omitempty"`
	TokenFile                string `json:"tokenFile,omitempty"`
	ClientCertificateData    string `json:"clientCertificateData,omitempty"`
	ClientKeyData            string `json:"clientKeyData,omitempty"`
	ClientCertificate        string `json:"clientCertificate,omitempty"`
	ClientKey                string `json:"clientKey,omitempty"`
	Username                 string `json:"username,omitempty"`
	Password                 string `json:"password,omitempty"`
	HasExec                  bool   `json:"hasExec"`
	HasAuthProvider          bool   `json:"hasAuthProvider"`
}

func main() {
	out := json.NewEncoder(os.Stdout)
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		_ = out.Encode(view{Error: err.Error()})
		os.Exit(2)
	}
	cfg, err := clientcmd.Load(data)
	if err != nil {
		_ = out.Encode(view{Error: err.Error()})
		return
	}
	v := view{Context: cfg.CurrentContext}
	if ctx, ok := cfg.Contexts[cfg.CurrentContext]; ok {
		if c, ok := cfg.Clusters[ctx.Cluster]; ok {
			v.ClusterFound = true
			v.Server = c.Server
			v.CertificateAuthority = c.CertificateAuthority
			v.TLSServerName = c.TLSServerName
			v.InsecureSkipTLSVerify = c.InsecureSkipTLSVerify
			v.ProxyURL = c.ProxyURL
			v.DisableCompression = c.DisableCompression
			if len(c.CertificateAuthorityData) > 0 {
				v.CertificateAuthorityData = base64.StdEncoding.EncodeToString(c.CertificateAuthorityData)
			}
		}
		if u, ok := cfg.AuthInfos[ctx.AuthInfo]; ok {
			v.UserFound = true
			v.Token = u.Token
			v.TokenFile = u.TokenFile
			v.ClientCertificate = u.ClientCertificate
			v.ClientKey = u.ClientKey
			v.Username = u.Username
			v.Password = u.Password
			v.HasExec = u.Exec != nil
			v.HasAuthProvider = u.AuthProvider != nil
			if len(u.ClientCertificateData) > 0 {
				v.ClientCertificateData = base64.StdEncoding.EncodeToString(u.ClientCertificateData)
			}
			if len(u.ClientKeyData) > 0 {
				v.ClientKeyData = base64.StdEncoding.EncodeToString(u.ClientKeyData)
			}
		}
	}
	_ = out.Encode(v)
}
