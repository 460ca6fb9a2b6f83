#!/usr/bin/env python3
"""The `docker` CLI that the CDK CLI runs (through CDK_DOCKER) to publish image assets into the
emulator, which has no image registry.

It answers the five commands the CLI uses (login, inspect, build, tag, push) and records every call
as a JSON line in $DOCKER_STANDIN_LOG. With DOCKER_STANDIN_ENGINE=1, build, tag and inspect run on
the real Docker engine (builds with host networking, and with BASE_IMAGE=$ANIML_BASE_IMAGE when
that is set), so the image the endpoints run is built as `cdk deploy` builds it and a failing
Dockerfile step fails the deploy; login and push are recorded only. Without an engine nothing is
built: the build is checked for what a real one would need first (a Dockerfile whose COPY sources
exist in the build context, a `serve` command). Standard library only: the CDK CLI runs it with
whatever python3 is on PATH.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NoReturn


def fail(message: str, status: int = 1) -> NoReturn:
    print(f"docker stand-in: {message}", file=sys.stderr)
    sys.exit(status)


def read_log(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line]


def record(log: Path, entry: dict) -> None:
    with log.open("a") as stream:
        stream.write(json.dumps(entry) + "\n")


def images(calls: list[dict]) -> set[str]:
    """Every image name a build or a tag has created so far."""
    return {c["tag"] for c in calls if c["command"] == "build"} | {
        c["target"] for c in calls if c["command"] == "tag"
    }


def option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    text = path.read_text().replace("\\\n", " ")
    lines = (line.strip() for line in text.splitlines())
    return [
        (keyword.upper(), rest.strip())
        for keyword, _, rest in (line.partition(" ") for line in lines if line and line[0] != "#")
    ]


def command_words(rest: str) -> list[str]:
    """The words of a CMD or ENTRYPOINT, in exec form (a JSON list) or shell form."""
    try:
        words = json.loads(rest)
    except json.JSONDecodeError:
        return shlex.split(rest)
    return [str(w) for w in words] if isinstance(words, list) else []


def check_build(context: Path, dockerfile: Path) -> list[str]:
    """What would make `docker build` fail before it runs a single step."""
    if not context.is_dir():
        return [f"build context {context} is not a directory"]
    if not dockerfile.is_file():
        return [f"no Dockerfile at {dockerfile}"]
    instructions = dockerfile_instructions(dockerfile)
    problems = []
    first = next((keyword for keyword, _ in instructions if keyword != "ARG"), None)
    if first != "FROM":
        problems.append(f"{dockerfile.name} must start with FROM, not {first}")
    for keyword, rest in instructions:
        if keyword not in ("COPY", "ADD") or rest.startswith("--from="):
            continue
        words = [w for w in shlex.split(rest) if not w.startswith("--")]
        for source in words[:-1]:
            if not list(context.glob(source)):
                problems.append(f"{keyword} source {source!r} is not in the build context")
    words = [
        w
        for keyword, rest in instructions
        if keyword in ("CMD", "ENTRYPOINT")
        for w in command_words(rest)
    ]
    if "serve" not in words:
        problems.append("the image does not run `serve` (SageMaker starts it with `serve`)")
    return problems


def context_digest(context: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(context)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


ENGINE_VARIABLE = "DOCKER_STANDIN_ENGINE"
BASE_IMAGE_VARIABLE = "ANIML_BASE_IMAGE"


def _details(command: str, args: list[str]) -> dict:
    if command == "build":
        context = Path(args[-1]).resolve()
        return {
            "tag": option(args, "--tag"),
            "platform": option(args, "--platform"),
            "context": str(context),
            "context_sha256": context_digest(context),
        }
    if command == "tag":
        return {"target": args[1]}
    return {}


def engine_command(command: str, args: list[str]) -> list[str]:
    """The real docker command line for a call of the CDK CLI."""
    docker = shutil.which("docker")
    if docker is None:
        fail("no docker CLI on PATH to reach the engine", 2)
    if command != "build":
        return [docker, command, *args]
    extra = ["--network", "host"]
    if base := os.environ.get(BASE_IMAGE_VARIABLE):
        extra += ["--build-arg", f"BASE_IMAGE={base}"]
    return [docker, "build", *extra, *args]


def main(argv: list[str]) -> None:
    log_path = os.environ.get("DOCKER_STANDIN_LOG")
    if not log_path:
        fail("set DOCKER_STANDIN_LOG to the file that records the calls", 2)
    log = Path(log_path)
    calls = read_log(log)
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    entry: dict = {"command": command, "cwd": os.getcwd(), "args": args}
    if os.environ.get(ENGINE_VARIABLE) == "1" and command in ("build", "tag", "inspect"):
        result = subprocess.run(engine_command(command, args), check=False)
        if result.returncode == 0:
            record(log, entry | {"engine": True} | _details(command, args))
        sys.exit(result.returncode)

    if command == "login":
        if "--password-stdin" not in args or not sys.stdin.read().strip():
            fail("login expects a registry token on stdin")
        entry["registry"] = args[-1]
    elif command == "inspect":
        if args[-1] not in images(calls):
            fail(f"No such image: {args[-1]}")
    elif command == "build":
        context = Path(args[-1]).resolve()
        dockerfile = context / (option(args, "--file") or "Dockerfile")
        problems = check_build(context, dockerfile)
        if problems:
            fail("build refused: " + "; ".join(problems))
        entry |= _details(command, args)
    elif command == "tag":
        entry |= _details(command, args)
        if args[0] not in images(calls):
            fail(f"No such image: {args[0]}")
    elif command == "push":
        if args[0] not in images(calls):
            fail(f"An image does not exist locally with the tag: {args[0]}")
        entry["image"] = args[0]
    else:
        fail(f"unsupported command {command!r}", 2)
    record(log, entry)


if __name__ == "__main__":
    main(sys.argv[1:])
