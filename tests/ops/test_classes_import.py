"""`classes import`: a model's labels from its own files into the registry, or nothing changed."""

from __future__ import annotations

import json

from model_registry.loader import load_fleet
from tests.ops.conftest import run_ops

SPECIESNET_LABELS = [
    "f1856211-cfb7-4a5b-9158-c0f72fd09ee6;;;;;;blank",
    "1f689929-883d-4dae-958c-3d57ab5b6c16;;;;;;animal",
    "3184697f-51ad-4608-9a28-9edb5500159c;mammalia;carnivora;canidae;vulpes;vulpes;red fox",
]


def _import(registry, *args: str):
    return run_ops("classes", "import", *args, "--registry", str(registry.root))


def _snapshot(registry) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(registry.root.rglob("*")) if p.is_file()}


def test_index_to_name_json_fills_in_an_unverified_model(registry, tmp_path):
    source = tmp_path / "index_to_name.json"
    source.write_text(json.dumps({"1": "goat", "0": "cat", "2": "Rat sp."}))
    run = _import(registry, "alitav3", str(source))
    assert run.returncode == 0, run.stderr
    assert "alitav3: 3 labels written" in run.stdout
    model = load_fleet(registry.root).models["alitav3"]
    assert model.class_ids == ["cat", "goat", "Rat sp."]
    assert "classes" not in model.unverified
    text = (registry.models / "alitav3.yaml").read_text()
    assert "classes_file: ../classes/alitav3.txt\nrecords:" in text
    assert text.startswith("# Sources")  # the file's comments survive
    assert (
        (registry.root / "classes" / "alitav3.txt")
        .read_text()
        .startswith(
            "# alitav3: the model's labels in output order, imported from index_to_name.json\ncat\n"
        )
    )


def test_a_speciesnet_labels_txt_gives_uuid_ids_names_and_taxonomy(registry, tmp_path):
    source = tmp_path / "labels.txt"
    source.write_text("\n".join(SPECIESNET_LABELS) + "\n")
    assert _import(registry, "speciesnetv401a", str(source)).returncode == 0
    model = load_fleet(registry.root).models["speciesnetv401a"]
    fox = model.classes[2]
    assert (fox.id, fox.name, fox.taxonomy) == (
        SPECIESNET_LABELS[2],
        "red fox",
        "mammalia;carnivora;canidae;vulpes;vulpes",
    )


def test_a_csv_needs_its_label_column(registry, tmp_path):
    source = tmp_path / "classes.csv"
    source.write_text("ID,Code,Species\n0,andean bear,Tremarctos ornatus\n1,puma,Puma concolor\n")
    run = _import(registry, "ircv2", str(source))
    assert run.returncode == 2
    assert "name the label column with --column; it has ['ID', 'Code', 'Species']" in run.stderr
    assert _import(registry, "ircv2", str(source), "--column", "Code").returncode == 0
    assert load_fleet(registry.root).models["ircv2"].class_ids == ["andean bear", "puma"]


def test_labels_the_registry_refuses_change_nothing(registry, tmp_path):
    before = _snapshot(registry)
    source = tmp_path / "labels.txt"
    source.write_text("blank\nanimal\n")
    run = _import(registry, "speciesnetv401a", str(source))
    assert run.returncode == 2
    assert "the registry refuses the labels; nothing changed" in run.stderr
    assert "'blank' is not a SpeciesNet label" in run.stderr
    gap = tmp_path / "index_to_name.json"
    gap.write_text(json.dumps({"0": "cat", "2": "rat"}))
    run = _import(registry, "alitav3", str(gap))
    assert "the indices are not 0..1 without gaps" in run.stderr
    assert _snapshot(registry) == before
