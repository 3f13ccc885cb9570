package main

import (
	"flag"

	"github.com/edgeinfra/edgeinfra/internal/tlsconf"
)

// tlsFlags defines --tls-cert, --tls-key and --tls-ca on fs with the
// given usage texts.
func tlsFlags(fs *flag.FlagSet, certUsage, caUsage string) *tlsconf.Files {
	f := new(tlsconf.Files)
	fs.StringVar(&f.Cert, "tls-cert", "", certUsage)
	fs.StringVar(&f.Key, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&f.CA, "tls-ca", "", caUsage)
	return f
}

// httpTLSFlags defines the agent's --http-tls-cert and --http-tls-key.
func httpTLSFlags(fs *flag.FlagSet) *tlsconf.Files {
	f := &tlsconf.Files{FlagPrefix: "http-"}
	fs.StringVar(&f.Cert, "http-tls-cert", "", "serve the local API over HTTPS with this PEM certificate (with --http-tls-key); plain HTTP without")
	fs.StringVar(&f.Key, "http-tls-key", "", "PEM private key of --http-tls-cert")
	return f
}
