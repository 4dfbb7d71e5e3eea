package main

import (
	"fmt"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/tapstack/tapstack/internal/kubeaccess"
)

func init() { register(newTokenCommand) }

func newTokenCommand(s stdio) *cobra.Command {
	var cluster, region string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "print a bearer token for an EKS cluster, as kubectl's credential plugin",
		Long: `token prints a client.authentication.k8s.io/v1beta1 ExecCredential on stdout: an EKS bearer token signed
with the standard AWS credential chain (the same token as aws eks get-token and aws-iam-authenticator), and its
expiration 14 minutes on. The kubeconfig tapstack kubeconfig writes runs it; kubectl runs it again when the token
expires. It makes no AWS call unless the credential chain itself does.`,
		Example: `  tapstack token --cluster eks-cluster-v1-dev --region us-east-1`,
		RunE:    func(*cobra.Command, []string) error { return runToken(cluster, region, s) },
	}
	fs := cmd.Flags()
	fs.StringVar(&cluster, "cluster", "", "name of the EKS cluster (required)")
	fs.StringVar(&region, "region", "", "region of the cluster (default: the AWS configuration's, AWS_REGION)")
	_ = cmd.MarkFlagRequired("cluster")
	return cmd
}

func runToken(cluster, region string, s stdio) error {
	ctx, stop := commandContext()
	defer stop()
	var opts []func(*awsconfig.LoadOptions) error
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return fmt.Errorf("AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return fail(exitInvalid, "--region: no region given, and none in the AWS configuration (AWS_REGION)")
	}
	tok, err := kubeaccess.NewToken(ctx, cfg, cluster, nil)
	if err != nil {
		return err
	}
	b, err := kubeaccess.ExecCredential(tok)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(s.out, "%s\n", b)
	return err
}
