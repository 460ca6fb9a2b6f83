"""What the three deployables (the CDK app and registry, the ops CLI, the animl-serve runtime)
agree on: the artifact config, the pre-processing rules, the label rules, the model families and
the service limits. Pure Python and pydantic; it ships inside the runtime image, so it lives in
the container folder and the repository root links to it."""
