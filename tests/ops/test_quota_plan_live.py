"""`quota plan` against the emulator: endpoints deployed by hand as the stacks name them, and
CloudWatch datapoints in the shape SageMaker publishes them, each case's answer worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from animl_contract.conversion import Agreement, ConversionReport, Int8Report
from animl_ops.traffic import read_traffic
from tests.ops.conftest import run_ops
from tests.ops.test_quota import deploy_the_registry_by_hand

REGION = "us-west-2"


def put(emulator, account, endpoint: str, metric: str, values: list[float], unit: str) -> None:
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    dimensions = [{"Name": "EndpointName", "Value": endpoint},
                  {"Name": "VariantName", "Value": "AllTraffic"}]  # fmt: skip
    emulator.client("cloudwatch", account, REGION).put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {"MetricName": metric, "Dimensions": dimensions, "Value": v, "Unit": unit,
             "Timestamp": start + timedelta(minutes=i)}
            for i, v in enumerate(values)
        ],
    )  # fmt: skip


@pytest.fixture
def traffic(emulator, animl_account):
    """mirav2-batch (80): bulk uploads that saturate it twice; mirav2-realtime (20): steady at a
    quarter; nzdoc-batch (80): one call at a time; megadetector-v5a-batch: not deployed; the
    rest: no data."""
    deploy_the_registry_by_hand(emulator, animl_account)
    emulator.client("sagemaker", animl_account, REGION).delete_endpoint(
        EndpointName="megadetector-v5a-batch"
    )
    utilization = "ServerlessConcurrentExecutionsUtilization"
    put(emulator, animl_account, "mirav2-batch", utilization, [0.1, 1.0, 0.4, 1.0, 0.2], "None")
    put(emulator, animl_account, "mirav2-realtime", utilization, [0.25] * 6, "None")
    put(emulator, animl_account, "mirav2-realtime", "Invocations", [30.0] * 6, "None")
    put(emulator, animl_account, "mirav2-realtime", "ModelLatency",
        [float(ms * 1000) for ms in range(1, 101)], "Microseconds")  # fmt: skip
    put(emulator, animl_account, "nzdoc-batch", utilization, [0.0125, 0.0125], "None")
    return emulator.env(animl_account, REGION)


def test_the_plan_sizes_each_endpoint_from_its_traffic(traffic, registry):
    run = run_ops("quota", "plan", "-e", "animl", "--days", "1", "--json",
                  "--registry", str(registry.root), env=traffic)  # fmt: skip
    assert run.returncode == 0, run.stderr
    plan = run.json()
    by_name = {p["endpoint"]: p for p in plan["endpoints"]}

    bulk = by_name["mirav2-batch"]
    assert (bulk["current"], bulk["recommended"], bulk["saturated_periods"]) == (80, 80, 2)
    assert bulk["raise_to"] == 120  # 80 x 1.5, capped below the callers' 160
    steady = by_name["mirav2-realtime"]
    assert (steady["peak"], steady["recommended"], steady["invocations"]) == (5, 8, 180)
    assert (steady["latency_p50_ms"], steady["latency_p99_ms"]) == (50.0, 99.0)
    idle = by_name["nzdoc-batch"]
    assert (idle["peak"], idle["recommended"], idle["change"]) == (1, 2, -78)
    quiet = by_name["deepfaune-ne-batch"]
    assert (quiet["recommended"], quiet["change"]) == (80, 0)
    assert "no data in the window" in quiet["notes"][-1]
    missing = by_name["megadetector-v5a-batch"]
    assert (missing["current"], missing["notes"]) == (None, ["not deployed: nothing to size"])
    # Every endpoint here was created minutes ago, and says so.
    assert "less than the window of data" in steady["notes"][0]

    # 940 less megadetector-v5a-batch's 80, less 12 (realtime) and 78 (nzdoc): 770.
    assert (plan["reserved"], plan["recommended"], plan["quota"]) == (860, 770, 1000)
    assert plan["callers_in_flight"] == 200  # (20 + 80) x 2 stages
    # The usual size is the median max concurrency, 20 (4 x 5, 6 x 20, 9 x 80): 140 free today
    # holds 7 more such endpoints, 230 free after the plan 11.
    assert (plan["usual_size"], plan["room_now"], plan["room_recommended"]) == (20, 7, 11)

    table = run_ops("quota", "plan", "-e", "animl", "--days", "1",
                    "--registry", str(registry.root), env=traffic)  # fmt: skip
    assert "mirav2-batch: raising it to 120 fits the quota" in table.stdout
    assert "reserved now 860, recommended 770, of a quota of 1000" in table.stdout
    assert "dry run: --write sets 2 max_concurrency values" in table.stdout
    assert plan["quota_for_one_more"] == 880  # 860 + 20 fits 1000: no request printed
    assert "request-service-quota-increase" not in table.stdout


def test_write_changes_only_max_concurrency_in_the_files_that_hold_it(traffic, registry):
    environments = registry.root / "environments.yaml"
    text = environments.read_text()
    environments.write_text(text.replace(
        "    stack_shards: 4\n",
        "    stack_shards: 4\n    sizes:\n      nzdoc:\n        batch:\n"
        "          max_concurrency: 80  # the environment's own\n", 1))  # fmt: skip
    before = {p: p.read_text() for p in registry.root.rglob("*.yaml")}
    run = run_ops("quota", "plan", "-e", "animl", "--days", "1", "--write",
                  "--registry", str(registry.root), env=traffic)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "wrote 2 max_concurrency values into environments.yaml, models/mirav2.yaml" in run.stdout
    changed = {p: p.read_text() for p in before if p.read_text() != before[p]}
    assert set(changed) == {environments, registry.models / "mirav2.yaml"}
    for path, after in changed.items():
        lines = [(a, b) for a, b in zip(before[path].splitlines(), after.splitlines(), strict=True)
                 if a != b]  # fmt: skip
        assert all("max_concurrency:" in a and "max_concurrency:" in b for a, b in lines), lines
    assert "          max_concurrency: 2  # the environment's own" in changed[environments]
    mirav2 = registry.model("mirav2")["endpoints"]
    assert (mirav2["batch"]["max_concurrency"], mirav2["realtime"]["max_concurrency"]) == (80, 8)


def test_write_changes_no_file_when_one_value_cannot_be_placed(traffic, registry):
    environments = registry.root / "environments.yaml"
    environments.write_text(environments.read_text().replace(
        "    stack_shards: 4\n", "    stack_shards: 4\n    sizes: {nzdoc: {batch: {max_concurrency: 80}}}\n", 1))  # fmt: skip
    before = {p: p.read_bytes() for p in registry.root.rglob("*") if p.is_file()}
    run = run_ops("quota", "plan", "-e", "animl", "--days", "1", "--write",
                  "--registry", str(registry.root), env=traffic)  # fmt: skip
    assert run.returncode == 2
    assert (
        "environments.animl.sizes.nzdoc.batch.max_concurrency: not found in block style"
        in run.stderr
    )
    assert {p: p.read_bytes() for p in registry.root.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["-e", "staging"], "error: unknown environment 'staging'"),
        ([], "error: the registry has several environments (animl, partner-example): choose one with -e"),
        (["-e", "animl", "--days", "500"], "Invalid value for '--days'"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line(arguments, error):
    run = run_ops("quota", "plan", *arguments)
    assert run.returncode == 2
    assert error in run.stderr
    assert "Traceback" not in run.stderr


def _report(path, int8: bool):
    agreement = Agreement(reference="fp32 onnx", inputs=8, input_source="samples",
                          max_abs_diff=0.01, output_scale=1.0, relative_diff=0.01,
                          top1_agreement=1.0)  # fmt: skip
    report = ConversionReport(
        source_format="onnx", source_file="m.onnx", precision="int8" if int8 else "fp32",
        input_name="input", input_shape=("batch", 3, 300, 300), fp32=agreement,
        int8=Int8Report(calibration_images=32, per_channel=True, agreement=agreement,
                        latency_ratio=0.25, gate="top-1", passed=True) if int8 else None,
        tools={},
    )  # fmt: skip
    path.write_text(report.to_json())
    return path


def test_an_int8_report_shows_what_the_faster_graph_would_free(traffic, registry, tmp_path):
    report = _report(tmp_path / "conversion.json", int8=True)
    run = run_ops("quota", "plan", "-e", "animl", "--days", "1", "--json", "--report", str(report),
                  "--registry", str(registry.root), env=traffic)  # fmt: skip
    assert run.returncode == 0, run.stderr
    faster = {p["endpoint"]: p for p in run.json()["faster"]["endpoints"]}
    # mirav2-realtime peaked at 5 in flight: 5 x 0.25 x 1.5 = 1.9, so the floor of 2.
    assert faster["mirav2-realtime"]["recommended"] == 2
    fp32 = _report(tmp_path / "fp32.json", int8=False)
    refused = run_ops("quota", "plan", "-e", "animl", "--report", str(fp32),
                      "--registry", str(registry.root), env=traffic)  # fmt: skip
    assert refused.returncode == 2
    assert (
        refused.stderr
        == f"error: --report {fp32}: the conversion has no INT8 graph (no int8 section)\n"
    )


def test_what_was_published_this_second_counts(emulator, animl_account):
    """GetMetricData takes [StartTime, EndTime): the reader ends its window at the end of the
    period under way, not at now, or a call of the last second would not count."""
    now = datetime.now(UTC)
    dimensions = [{"Name": "EndpointName", "Value": "nzdoc-batch"},
                  {"Name": "VariantName", "Value": "AllTraffic"}]  # fmt: skip
    cloudwatch = emulator.client("cloudwatch", animl_account, REGION)
    cloudwatch.put_metric_data(Namespace="AWS/SageMaker", MetricData=[
        {"MetricName": "Invocations", "Dimensions": dimensions, "Value": 1.0, "Timestamp": now}])  # fmt: skip
    assert read_traffic(cloudwatch, "nzdoc-batch", now - timedelta(days=1), now).invocations == 1
