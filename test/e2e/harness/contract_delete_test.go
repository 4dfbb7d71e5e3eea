package harness_test

// contractDeletion are the logs, KMS, networking and deletion behaviours: L1-L2, D1-D2.
var contractDeletion = []contractCase{}
