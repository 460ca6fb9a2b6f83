"""The one test input read from the production registry on purpose: the logical ids of the Animl
endpoints, whose change would replace a live endpoint.

    .venv/bin/python -m tests.production_pins    # `make logical-ids`: rewrite the pin, on intent
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import aws_cdk as cdk

from checkout import CONTAINERS_DIR
from model_registry.loader import load_fleet
from stacks.fleet import add_fleet
from tests.registries import PRODUCTION_REGISTRY

PIN_FILE = Path(__file__).with_name("endpoint_logical_ids.json")
PINNED_ENVIRONMENT = "animl"


def endpoint_logical_ids() -> dict[str, str]:
    """Endpoint name -> "stack/logical id", for every endpoint of the production Animl environment."""
    with tempfile.TemporaryDirectory() as outdir:
        app = cdk.App(outdir=outdir)
        fleet = load_fleet(PRODUCTION_REGISTRY, CONTAINERS_DIR)
        add_fleet(app, fleet, CONTAINERS_DIR)
        stacks = {s.stack_name: s.template for s in app.synth().stacks}
    return {
        resource["Properties"]["EndpointName"]: f"{name}/{logical_id}"
        for name, template in stacks.items()
        if name.startswith(f"{PINNED_ENVIRONMENT}-")
        for logical_id, resource in template.get("Resources", {}).items()
        if resource["Type"] == "AWS::SageMaker::Endpoint"
    }


if __name__ == "__main__":
    PIN_FILE.write_text(json.dumps(endpoint_logical_ids(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {PIN_FILE.relative_to(Path.cwd())}: review it with git diff")
