"""`cost`: the serverless bill against a dedicated instance, from a dated price list."""

from __future__ import annotations

import pytest
import yaml

from animl_ops.cost import (
    DEFAULT_PRICES,
    PricesError,
    Workload,
    compare,
    load_prices,
    speed_up,
)
from tests.ops.conftest import run_ops


def test_the_arithmetic_matches_a_hand_computed_case():
    prices = load_prices()
    # 1,000,000 images x 1 s x 6 GB x $0.00002 = $120; data: 1e6 x 300 KB = 286.1 GB x $0.016 = $4.58.
    result = compare(Workload(1_000_000, 1.0, 6144, 80), prices, "us-west-2", "ml.c5.xlarge")
    assert result.serverless_per_month == pytest.approx(124.58, abs=0.01)
    # One always-on ml.c5.xlarge: 730 h x $0.204 = $148.92; 1e6 s of work fits in one instance.
    assert (result.instances_needed, result.dedicated_per_month) == (1, 148.92)
    assert result.break_even_images_per_month == pytest.approx(1_195_400, rel=1e-3)
    assert result.break_even_multiple == 1.2
    assert result.instance_capacity_per_month == 1_839_600  # 730 h x 3600 s x 0.7, 1 s an image
    assert result.serverless_capacity_per_month == 80 * 730 * 3600


def test_break_even_is_none_where_one_instance_saturates_before_it_pays_off():
    prices = load_prices()
    slow = compare(Workload(10_000, 60.0, 1024, 80), prices, "us-west-2", "ml.c5.xlarge")
    # 60 s x 1 GB x 0.00002 = 0.0012 USD an image; one instance (148.92) breaks even at 124,100,
    # but serves only 730 x 3600 x 0.7 / 60 = 30,660.
    assert slow.instance_capacity_per_month == 30_660
    assert (slow.break_even_images_per_month, slow.break_even_multiple) == (None, None)
    assert slow.cheaper == "serverless"


def test_the_cli_reads_sizes_from_the_registry_and_never_contradicts_itself():
    run = run_ops("cost", "--images", "3000000", "--seconds-per-image", "1.2", "--model", "mirav2",
                  "--endpoint", "realtime", "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    data = run.json()
    assert (data["memory_mb"], data["max_concurrency"]) == (6144, 20)
    assert data["sizes_from"] == "mirav2 realtime in the registry"
    assert (data["instances_needed"], data["cheaper"]) == (2, "dedicated")
    table = run_ops(
        "cost", "--images", "3000000", "--seconds-per-image", "1.2", "--model", "mirav2"
    )
    assert "2 x ml.c5.xlarge, always on" in table.stdout
    assert "at this volume dedicated is cheaper" in table.stdout
    assert "one ml.c5.xlarge is cheaper" not in table.stdout


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (
            ["--memory-mb", "5000"],
            "error: --memory-mb 5000: serverless memory is 1024..6144 in steps of 1024",
        ),
        (
            ["--concurrency", "201"],
            "error: --concurrency 201: serverless max concurrency is 1..200",
        ),
        (
            ["--model", "mirav2", "--memory-mb", "2048"],
            "error: --model reads memory and concurrency "
            "from the registry: drop --memory-mb and --concurrency, or drop --model",
        ),
        (
            ["--model", "mirav2", "--endpoint", "nightly"],
            "error: model mirav2 declares no nightly endpoint; it has: batch, realtime",
        ),
        (["--endpoint", "batch"], "error: --endpoint needs --model"),
        (["--model", "mirav3"], "error: unknown model 'mirav3'"),
    ],
)
def test_sizes_serverless_cannot_have_are_refused_in_one_line(arguments, error):
    run = run_ops("cost", "--images", "1000", "--seconds-per-image", "1", *arguments)
    assert run.returncode == 2
    assert run.stderr.startswith(error), run.stderr
    assert run.stdout == ""


def test_the_cli_prints_the_comparison_and_json():
    table = run_ops("cost", "--images", "100000", "--seconds-per-image", "0.5")
    assert table.returncode == 0, table.stderr
    assert "break-even:" in table.stdout
    assert "prices of 2026-11-01" in table.stdout
    data = run_ops("cost", "--images", "100000", "--seconds-per-image", "0.5", "--json").json()
    assert data["instance_type"] == "ml.c5.xlarge"
    assert data["break_even_multiple"] > 1


def test_a_faster_graph_costs_its_share_and_needs_its_share_of_concurrency():
    workload = Workload(100_000, 0.5, 6144, 80)
    prices = load_prices()
    full = compare(workload, prices, "us-west-2", "ml.c5.xlarge")
    faster = speed_up(workload, prices, "us-west-2", "ml.c5.xlarge", 0.4)
    # Compute is billed per second of duration; the data charge does not shrink with it.
    data = 100_000 * 300 / 1024 / 1024 * prices.regions["us-west-2"].serverless.data_per_gb
    assert faster.serverless_per_month == pytest.approx(
        (full.serverless_per_month - data) * 0.4 + data, abs=0.02
    )
    assert faster.concurrency_for_same_peak == 32
    run = run_ops("cost", "--images", "100000", "--seconds-per-image", "0.5",
                  "--latency-ratio", "0.4")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "the same peak load needs max concurrency 32 instead of 80" in run.stdout
    data_json = run_ops("cost", "--images", "100000", "--seconds-per-image", "0.5",
                        "--latency-ratio", "0.4", "--json").json()  # fmt: skip
    assert data_json["faster"]["concurrency_for_same_peak"] == 32


def test_a_bad_price_list_names_the_file_and_field(tmp_path):
    prices = yaml.safe_load(DEFAULT_PRICES.read_text())
    prices["regions"]["us-west-2"]["serverless"]["compute_per_gb_second"] = "cheap"
    bad = tmp_path / "prices.yaml"
    bad.write_text(yaml.safe_dump(prices))
    with pytest.raises(
        PricesError, match=r"prices.yaml: regions.us-west-2.serverless.compute_per_gb_second"
    ):
        load_prices(bad)
    run = run_ops("cost", "--images", "10", "--seconds-per-image", "1", "--prices", str(bad))
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1
    assert "Traceback" not in run.stderr


def test_an_unknown_instance_type_lists_the_known_ones():
    run = run_ops(
        "cost", "--images", "10", "--seconds-per-image", "1", "--instance", "ml.p5.48xlarge"
    )
    assert run.returncode == 2
    assert (
        "no price for ml.p5.48xlarge in us-west-2; the price list has ['ml.c5.2xlarge'"
        in run.stderr
    )


def test_a_usage_error_is_reported_by_the_cli_without_a_traceback():
    for args, message in {
        ("cost", "--images", "0", "--seconds-per-image", "1"): "Invalid value for '--images'",
        ("quota", "--bogus"): "No such option: --bogus",
    }.items():
        run = run_ops(*args)
        assert run.returncode == 2
        assert message in run.stderr
        assert "Traceback" not in run.stderr
