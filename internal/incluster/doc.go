// Package incluster is what tapstack applies and reads inside the cluster through client-go, after Terraform has
// built the cluster. Everything here takes a kubernetes.Interface and never builds one. Writes are server-side
// applies under the field manager FieldManager, so a second run with nothing to change writes nothing.
package incluster

const (
	// FieldManager owns what tapstack applies.
	FieldManager = "tapstack"
	// ManagedByLabel is Kubernetes' recommended label for the tool that manages an object; its value is
	// stack.ManagedByTapstack, as on the AWS resources' ManagedBy tag.
	ManagedByLabel = "app.kubernetes.io/managed-by"
)
