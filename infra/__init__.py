"""Process Task Manager infrastructure: the CDK app and the embedded local stack."""
