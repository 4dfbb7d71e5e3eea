// Package kubeapi is test-only code: it runs a real Kubernetes API server (kube-apiserver and etcd, built from the
// Go module proxy by scripts/build-kube.sh) on loopback, with the webhook token authentication EKS uses, so that
// tests can talk to a cluster's Kubernetes API with tapstack's tokens. With Options.ControllerManager,
// kube-controller-manager (built the same way) runs Controllers against it. No kubelet, scheduler or cloud
// controller runs: nodes are API objects the tests create, and the tests bind pods and mark them ready.
//
// The API server is Kubernetes KubernetesVersion whatever version the emulated cluster has: a cluster's version
// comes from EKS DescribeCluster, never from this server's /version.
//
// Authentication is EKS's (aws-iam-authenticator's server, as a webhook), against the emulator's STS. A token is
// "k8s-aws-v1." and the unpadded base64url of a presigned STS GetCallerIdentity URL whose signature covers the
// header x-k8s-aws-id: CLUSTER. Authenticator checks the token's form, checks its signature as STS would (moto
// checks none), replays it against the emulator for the caller's ARN, and maps that caller:
//
//   - username: the ARN, an assumed role's session (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION) as its role
//     (arn:aws:iam::ACCOUNT:role/ROLE);
//   - AuthOptions.Admins: group system:masters, as an EKS access entry with AmazonEKSClusterAdminPolicy;
//   - AuthOptions.Members: no group (RBAC grants them what it grants every authenticated user), as an access entry
//     with no access policy;
//   - anyone else: refused (401), as EKS refuses a principal with no access entry.
package kubeapi
