"""animl-ops: what the CDK app cannot answer, from the registry and the live account."""
