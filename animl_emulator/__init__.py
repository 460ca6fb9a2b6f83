"""A local stand-in for AWS, for people and tests without an AWS account or a Docker engine.

`emulator`: moto server on a free localhost port and the accounts inside it; `server` and
`moto_patches`: moto, patched where it differs from AWS in what the CDK CLI does; `docker_standin`:
the `docker` CLI for image assets; `cdk_cli`: the real `npx cdk` pointed at the emulator;
`deployment`: an environment of a registry, bootstrapped and deployed; `demo`: `make demo`.
"""
