package kubeaccess

import (
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientauthv1beta1 "k8s.io/client-go/pkg/apis/clientauthentication/v1beta1"
)

// ExecAPIVersion is the exec credential API the kubeconfig asks for and `tapstack token` answers in: v1beta1,
// which every kubectl and client-go since Kubernetes 1.22 reads (v1 since 1.24; v1alpha1 is gone).
const ExecAPIVersion = "client.authentication.k8s.io/v1beta1"

// ExecCredential is the JSON an exec credential plugin prints for client-go: the token and its expiration (RFC
// 3339), after which client-go runs the plugin again.
func ExecCredential(t Token) ([]byte, error) {
	exp := metav1.NewTime(t.Expiration.UTC())
	return json.Marshal(&clientauthv1beta1.ExecCredential{
		TypeMeta: metav1.TypeMeta{APIVersion: ExecAPIVersion, Kind: "ExecCredential"},
		Status:   &clientauthv1beta1.ExecCredentialStatus{Token: t.Value, ExpirationTimestamp: &exp},
	})
}
