"""How a label the endpoint returns becomes an MLModel category, as the Animl API stores it.

- A category's `_id` is a value in MongoDB and equals the label the endpoint returns (for
  SpeciesNet, the uuid before the first `;`: animl-api src/ml/modelInterfaces.ts, `speciesnet`).
  It may hold `.` (DeepFaune's `Bird sp.`).
- A category's `name` becomes a key of a project's `categoryConfig` map (animl-api
  src/api/db/schemas/Project.ts, read by buildCatConfig in src/automation/utils.js), and
  MongoDB map keys cannot hold `.` or `$`: the name is the label with both removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from animl_contract.families import Family

MONGO_KEY_FORBIDDEN = (".", "$")
#: SpeciesNet's labels with a meaning of their own (the `speciesnet` package, constants.py).
SPECIESNET_BLANK = "f1856211-cfb7-4a5b-9158-c0f72fd09ee6;;;;;;blank"
SPECIESNET_ANIMAL = "1f689929-883d-4dae-958c-3d57ab5b6c16;;;;;;animal"
SPECIESNET_HUMAN = (
    "990ae9dd-7a59-4344-afcb-1b7b21368000;mammalia;primates;hominidae;homo;sapiens;human"
)
SPECIESNET_VEHICLE = "e2895ed5-780b-48f6-8a11-9e27cb594511;;;;;;vehicle"
SPECIESNET_UNKNOWN = (
    "f2efdae9-efb8-48fb-8a91-eccf79ab4ffb;no cv result;no cv result;no cv result;"
    "no cv result;no cv result;no cv result"
)
SPECIESNET_FIELDS = ("uuid", "class", "order", "family", "genus", "species", "common_name")


def scrubbed_name(label: str) -> str:
    """The category name for a label: `.` and `$` removed, surrounding spaces stripped."""
    for character in MONGO_KEY_FORBIDDEN:
        label = label.replace(character, "")
    return label.strip()


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a category name, or None."""
    bad = [c for c in MONGO_KEY_FORBIDDEN if c in name]
    if bad:
        return (
            f"{name!r} contains {' and '.join(repr(c) for c in bad)}, which a MongoDB key cannot "
            f"hold (category names key a project's categoryConfig); use {scrubbed_name(name)!r}"
        )
    if not name.strip() or name != name.strip():
        return f"{name!r} must be non-empty with no leading or trailing spaces"
    return None


def label_problem(label: str) -> str | None:
    """Why `label` cannot be what an endpoint returns, or None."""
    if not label.strip() or label != label.strip():
        return f"{label!r} must be non-empty with no leading or trailing spaces"
    return None


@dataclass(frozen=True)
class SpeciesNetLabel:
    """`uuid;class;order;family;genus;species;common name`, SpeciesNet's label form."""

    uuid: str
    class_: str
    order: str
    family: str
    genus: str
    species: str
    common_name: str

    @classmethod
    def parse(cls, label: str) -> SpeciesNetLabel:
        parts = label.split(";")
        if len(parts) != len(SPECIESNET_FIELDS) or not parts[0]:
            raise ValueError(
                f"{label!r} is not a SpeciesNet label (uuid;class;order;family;genus;species;"
                f"common name: seven fields, the uuid first)"
            )
        return cls(*parts)

    @property
    def taxonomy(self) -> str:
        """class;order;family;genus;species, the lineage Animl matches automation rules on."""
        return ";".join((self.class_, self.order, self.family, self.genus, self.species))


def category_id(family: Family, label: str) -> str:
    """The MLModel category `_id` the Animl API looks a returned label up by."""
    return SpeciesNetLabel.parse(label).uuid if family == "speciesnet" else label
