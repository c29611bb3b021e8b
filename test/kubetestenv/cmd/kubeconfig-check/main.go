// kubeconfig-check prints what client-go makes of kubeconfigs, so that tests compare client-go's
// reading with what clusterinventory validated instead of trusting our own parser. It is what
// sveltoscluster-manager does with our Secret: clientcmd.Load (goyaml v2 behind sigs.k8s.io/yaml),
// then clientcmd.NewDefaultClientConfig(...).ClientConfig() for the rest.Config it connects with.
//
// Batch protocol, so that one process serves thousands of cases: stdin carries JSON lines
// {"id": "...", "kubeconfig": "<text>"}; stdout gets one JSON line per input, in order, with the same
// id (see report in view.go). A test tool: it prints credentials.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

type request struct {
	ID         string `json:"id"`
	Kubeconfig string `json:"kubeconfig"`
}

func main() {
	if err := serve(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kubeconfig-check:", err)
		os.Exit(2)
	}
}

// serve answers every request before reading the next, flushing each answer, so a caller may
// pipeline requests or wait for each one.
func serve(in io.Reader, out io.Writer) error {
	dec := json.NewDecoder(bufio.NewReaderSize(in, 1<<20))
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	for {
		var req request
		if err := dec.Decode(&req); err != nil {
			if errors.Is(err, io.EOF) {
				return w.Flush()
			}
			return fmt.Errorf("reading a request: %w", err)
		}
		if err := enc.Encode(inspect(req)); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}
