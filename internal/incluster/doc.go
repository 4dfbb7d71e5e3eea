// Package incluster is what tapstack applies and reads inside the cluster through client-go, after Terraform has
// built the cluster: today the default StorageClass tapstack owns (DefaultStorageClass, EnsureDefaultStorageClass
// for deploy, CheckDefaultStorageClass for verify).
//
// Everything here takes a kubernetes.Interface and never builds one: the lifecycle package connects with the
// environment's EKS token (lifecycle.ClusterREST), the tests with a real API server (test/kubeapi). Writes are
// server-side applies under the field manager FieldManager, so a second run with nothing to change writes nothing.
package incluster
