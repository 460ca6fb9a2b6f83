"""animl-ops: quota, MLModel records, smoke tests and cost, for the ops engineers of Animl.

    python -m animl_ops quota [--live] [--environment NAME] [--json]
    python -m animl_ops mlmodel export MODEL [--check ARTIFACT]
    python -m animl_ops classes import MODEL SOURCE [--column NAME]
    python -m animl_ops artifact build MODEL --onnx model.onnx --out model.tar.gz
    python -m animl_ops migrate plan|run ENVIRONMENT [--drain-minutes M] [--leave ENDPOINT]
    python -m animl_ops smoke ENVIRONMENT MODEL [--endpoint batch|realtime] [--stage STAGE] [--url URL]
    python -m animl_ops cost --images N --seconds-per-image S [--instance TYPE] [--json]

Expected failures print one line that says what to do and exit non-zero; never a traceback.
"""

from __future__ import annotations

import botocore.exceptions
import typer

from animl_ops import (
    cli_cost,
    cli_migrate,
    cli_quota,
    cli_records,
    cli_smoke,
    migration_plan,
    paths,
)
from animl_ops import cost as cost_model
from animl_ops.aws_account import WrongAccountError
from animl_ops.cdk_runner import CdkCommandError
from animl_ops.cli_common import OpsError, aws_failure, err
from animl_ops.local_runtime import LocalRuntimeError
from animl_ops.migration_state import MigrationError
from animl_ops.smoke import SmokeError
from model_registry.loader import UnknownName

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help=__doc__.splitlines()[0],
    rich_markup_mode=None,  # typer 0.29's rich help shows every flag as taking a <bool>
)
app.add_typer(cli_quota.quota_app, name="quota")
app.add_typer(cli_records.mlmodel_app, name="mlmodel")
app.add_typer(cli_records.classes_app, name="classes")
app.add_typer(cli_records.artifact_app, name="artifact")
app.command()(cli_smoke.smoke)
app.command()(cli_cost.cost)
app.add_typer(cli_migrate.migrate_app, name="migrate")


def main() -> int:
    """Click reports usage errors itself (exit 2); expected failures become one line here."""
    try:
        app()
    except (
        OpsError,
        paths.BadPath,
        UnknownName,
        SmokeError,
        LocalRuntimeError,
        cost_model.PricesError,
        MigrationError,
        WrongAccountError,
        migration_plan.NoSafeOrder,
        CdkCommandError,
    ) as error:
        err.print(f"error: {error}", markup=False, highlight=False)
        return 2
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        err.print(f"error: {aws_failure(error)}", markup=False, highlight=False)
        return 2
    return 0
