// Package live checks a TapStack environment against the AWS account it is deployed to: before deploying
// (Run: the live checks of `tapstack check --live` and `tapstack deploy`) and after (Verify: `tapstack verify`
// and the integration suite).
//
// Every call goes through aws-sdk-go-v2 with the standard credential chain (NewClients: config.LoadDefaultConfig
// in the stack's region, S3 in the state bucket's region), so AWS_PROFILE, SSO, web identity and instance roles
// work, and AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> reach an emulator. Each check is a small function over
// narrow client interfaces (STSAPI, IAMAPI, EKSAPI, EC2API, LogsAPI, S3API, QuotasAPI), so tests use fakes.
//
// Run runs the checks concurrently, each under its own timeout, and returns rules.Finding values (with the
// same severities and kinds as the offline rules, so one report holds both) and one Result per check: its ID,
// name, status (ok, finding, not-checked, error), duration and a note. Two outcomes are neither a crash nor a
// failure:
//
//   - a missing permission (AccessDenied, UnauthorizedOperation, ...): the check is not-checked and a warning
//     names the IAM action it needs;
//   - an API the endpoint does not implement (an emulator answering 404/500/501 with no AWS error, InvalidAction,
//     UnknownOperationException, "not yet implemented"): the check is not-checked and its note names the API.
//
// Anything else that stops a check (network, credentials, a server error, its timeout) makes it error.
//
// Collisions: an object with one of the stack's names that exists but is not in the stack's state
// (Input.InState, read from the state by ReadState or ParseState) is an error saying how to resolve it; with no
// state, everything that exists collides. The control-plane log group /aws/eks/<cluster>/cluster that EKS
// leaves behind is offered for adoption: with Input.Adopt (--adopt-existing) it is a warning, and the synthesized
// stack imports it (stack.Options.ImportLogGroup).
//
// # Live checks
//
// The IAM actions each check needs (reading the state for the collision checks also needs s3:GetObject on the
// state object):
//
//	ID     check                                                     IAM actions
//	TS801  caller account and partition                              sts:GetCallerIdentity
//	TS802  IAM roles of this stack's names exist outside its state   iam:GetRole
//	TS803  EKS cluster of this stack's name exists outside its state eks:DescribeCluster
//	TS804  node groups of this stack's names exist outside its state eks:DescribeCluster, eks:DescribeNodegroup
//	TS805  log groups of this stack's names exist outside its state; logs:DescribeLogGroups
//	       an orphaned control-plane log group is offered for adoption
//	TS806  an OIDC provider of the cluster's issuer exists outside    eks:DescribeCluster, iam:ListOpenIDConnectProviders
//	       its state
//	TS807  the subnets' zone IDs are not ones EKS avoids (zone names  ec2:DescribeAvailabilityZones
//	       map to IDs per account)
//	TS808  the zones exist and are available (or enough zones exist   ec2:DescribeAvailabilityZones
//	       when they are picked at plan time)
//	TS809  the Kubernetes version is offered in the region, and its   eks:DescribeClusterVersions
//	       support status
//	TS810  a pinned vpc-cni version is offered for the Kubernetes     eks:DescribeAddonVersions
//	       version; unpinned, the version EKS would install
//	TS811  every node group instance type is offered in every zone    ec2:DescribeAvailabilityZones, ec2:DescribeInstanceTypeOfferings
//	TS812  the state bucket exists, is in the configured region and   s3:ListBucket, s3:GetBucketLocation, s3:GetBucketVersioning
//	       is versioned (a warning if not)
//	TS813  VPCs per region (L-F678F1CE) against usage                 servicequotas:GetServiceQuota, servicequotas:GetAWSDefaultServiceQuota, ec2:DescribeVpcs
//	TS814  internet gateways per region (L-A4707A72) against usage    servicequotas:GetServiceQuota, servicequotas:GetAWSDefaultServiceQuota, ec2:DescribeInternetGateways
//	TS815  Elastic IPs (L-0263D0A3) against usage, for NAT gateways   servicequotas:GetServiceQuota, servicequotas:GetAWSDefaultServiceQuota, ec2:DescribeAddresses
//	TS816  On-Demand standard vCPUs (L-1216C47A): usage plus the      servicequotas:GetServiceQuota, servicequotas:GetAWSDefaultServiceQuota,
//	       on-demand node groups at maximum size                      ec2:DescribeInstanceTypes, ec2:DescribeInstances
//	TS817  Spot standard vCPUs (L-34B43A08): usage plus the spot      servicequotas:GetServiceQuota, servicequotas:GetAWSDefaultServiceQuota,
//	       node groups at maximum size                                ec2:DescribeInstanceTypes, ec2:DescribeInstances
//	TS818  a new cluster's creator, who gets an access entry from      sts:GetCallerIdentity, eks:DescribeCluster
//	       EKS itself, is not also an admin principal
//
// # Verify
//
// Verify compares the live stack with the configuration and the outputs file, one Item (resource, field,
// expected, actual, status) per fact: the cluster ACTIVE on the configured version with the outputs' endpoint,
// its endpoint access and log types; the OIDC provider of the outputs' ARN for the cluster's issuer; each node
// group ACTIVE with its capacity type, instance types, scaling (min, desired, max) and node role; the vpc-cni
// add-on ACTIVE with its pinned version and configuration values; each platform add-on ACTIVE at its pinned
// version, with its own Pod Identity association (owner, namespace, service account, role) or none; the log group
// with its retention; the public subnets mapping public IPs on launch, in the outputs' VPC, with the configured
// CIDRs; with the EBS CSI driver on, through the cluster's Kubernetes API (VerifyInput.Kube), the default
// StorageClass tapstack applies (internal/incluster): present, encrypted gp3 with the outputs' kms_key_arn, and the
// only class marked default. It needs eks:DescribeCluster, eks:DescribeNodegroup, eks:DescribeAddon,
// eks:DescribePodIdentityAssociation, iam:GetOpenIDConnectProvider, logs:DescribeLogGroups and
// ec2:DescribeSubnets, and an access entry on the cluster that may list StorageClasses.
//
// # What an environment runs
//
// The engine commands read an environment without Terraform: ReadStateObject fetches the state object as stored
// (s3:GetObject) for tfstate.Decode, and ReadRunning asks EKS what the cluster runs where EKS changes it by itself
// (the versions, the upgrade policy, the authentication mode, the add-ons' roles) for stack.Existing.Overlay, in
// place of a refresh-only plan. It needs eks:DescribeCluster, eks:DescribeNodegroup and eks:DescribeAddon.
package live
