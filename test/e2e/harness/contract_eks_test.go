package harness_test

// contractEKS are the EKS behaviours: versions and support (V1-V5, C1), cluster updates (U1-U6), access entries
// (A1-A2), add-ons and nodes (N1-N6).
var contractEKS = []contractCase{}
