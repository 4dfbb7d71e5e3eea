// Command etcd is etcd's server, built from the module proxy for the tests (see scripts/build-kube.sh); its main
// is the upstream server/main.go.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
