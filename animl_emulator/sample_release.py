"""A small SpeciesNet release made for the tests and the demo: classifier labels, taxonomy and geofence in the
package's formats (labels.txt lines, taxonomy_release.txt lines, the geofence JSON), with the
package's own special labels (speciesnet/constants.py)."""

from __future__ import annotations

import json
from pathlib import Path

BLANK = "f1856211-cfb7-4a5b-9158-c0f72fd09ee6;;;;;;blank"
ANIMAL = "1f689929-883d-4dae-958c-3d57ab5b6c16;;;;;;animal"
HUMAN = "990ae9dd-7a59-4344-afcb-1b7b21368000;mammalia;primates;hominidae;homo;sapiens;human"
VEHICLE = "e2895ed5-780b-48f6-8a11-9e27cb594511;;;;;;vehicle"
UNKNOWN = (
    "f2efdae9-efb8-48fb-8a91-eccf79ab4ffb;no cv result;no cv result;no cv result;"
    "no cv result;no cv result;no cv result"
)
RED_FOX = "00000000-0000-4000-8000-000000000001;mammalia;carnivora;canidae;vulpes;vulpes;red fox"
GRAY_FOX = (
    "00000000-0000-4000-8000-000000000002;mammalia;carnivora;canidae;urocyon;cinereoargenteus;"
    "gray fox"
)
COYOTE = "00000000-0000-4000-8000-000000000003;mammalia;carnivora;canidae;canis;latrans;coyote"
DOG = "00000000-0000-4000-8000-000000000004;mammalia;carnivora;canidae;canis;familiaris;dog"
BOBCAT = "00000000-0000-4000-8000-000000000005;mammalia;carnivora;felidae;lynx;rufus;bobcat"
TURKEY = (
    "00000000-0000-4000-8000-000000000006;aves;galliformes;phasianidae;meleagris;gallopavo;"
    "wild turkey"
)
CANIS = "00000000-0000-4000-8000-000000000007;mammalia;carnivora;canidae;canis;;canis species"
CANIDAE = "00000000-0000-4000-8000-000000000008;mammalia;carnivora;canidae;;;canine family"
CARNIVORA = "00000000-0000-4000-8000-000000000009;mammalia;carnivora;;;;carnivorous mammal"
MAMMALIA = "00000000-0000-4000-8000-000000000010;mammalia;;;;;mammal"
AVES = "00000000-0000-4000-8000-000000000011;aves;;;;;bird"

#: The classifier's outputs, in order; the colour classifier of the tests gives red, green and
#: blue images to the first three.
CLASSIFIER_LABELS = [
    RED_FOX, GRAY_FOX, COYOTE, DOG, BOBCAT, TURKEY, BLANK, ANIMAL, HUMAN, VEHICLE,
]  # fmt: skip
TAXONOMY = [*CLASSIFIER_LABELS, UNKNOWN, CANIS, CANIDAE, CARNIVORA, MAMMALIA, AVES]
GEOFENCE = {
    # Red foxes: the USA and Canada only.
    "mammalia;carnivora;canidae;vulpes;vulpes": {"allow": {"USA": [], "CAN": []}},
    # Gray foxes: California and Oregon only.
    "mammalia;carnivora;canidae;urocyon;cinereoargenteus": {"allow": {"USA": ["CA", "OR"]}},
    # Coyotes: anywhere but Great Britain.
    "mammalia;carnivora;canidae;canis;latrans": {"block": {"GBR": []}},
    # Bobcats: anywhere but Hawaii.
    "mammalia;carnivora;felidae;lynx;rufus": {"block": {"USA": ["HI"]}},
}


def write(folder: Path) -> tuple[Path, Path]:
    """taxonomy.txt and geofence.json in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    taxonomy = folder / "taxonomy.txt"
    taxonomy.write_text("\n".join(TAXONOMY) + "\n", encoding="utf-8")
    geofence = folder / "geofence.json"
    geofence.write_text(json.dumps(GEOFENCE), encoding="utf-8")
    return taxonomy, geofence
