"""A synthetic FAQ export of a chosen size, shaped like real travel-site FAQ dumps: questions
that name the place ("Are there age restrictions for 7D Experience?"), some questions shared
by many places, answers of one or two sentences, spread over several JSONL files.

    python -m bench.faq_generator OUT_DIR [--rows 12000] [--files 5] [--seed 7]

Used by `python -m bench large_faq` (issue: the engine could not start after ingesting 12,039
such rows) and by the large-KB ingest measurements.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

KINDS = ("hotel", "restaurant", "attraction")
_NAME_A = ("Blue", "Golden", "Old", "Royal", "Silver", "Grand", "Little", "Harbour", "Garden", "Sunset",
           "Maple", "River", "Crown", "Amber", "Cedar", "North", "Urban", "Coral", "Stone", "Velvet")
_NAME_B = ("Lantern", "Oak", "Mill", "Bay", "Court", "Terrace", "Pavilion", "Tower", "Market", "Gallery",
           "Lodge", "Kitchen", "Quay", "House", "Yard", "Hall", "Bridge", "Park", "Studio", "Experience")
_QUESTIONS = {
    "hotel": ["Does {e} have free parking?", "What time is check-in at {e}?", "Is breakfast included at {e}?",
              "Are pets allowed at {e}?", "Does {e} have a pool?", "Is there WiFi at {e}?"],
    "restaurant": ["Does {e} take reservations?", "Is {e} wheelchair accessible?",
                   "Does {e} have vegetarian options?", "What are the opening hours of {e}?",
                   "Can I bring my own wine to {e}?"],
    "attraction": ["Are there age restrictions for {e}?", "How long does a visit to {e} take?",
                   "Is {e} open on public holidays?", "Can I buy tickets for {e} at the door?",
                   "Is photography allowed at {e}?"],
}
# Questions asked word for word of many places: a KB lists them once per place.
SHARED = ["Is this place good for families?", "Is there a dress code?", "Do you accept credit cards?"]
_ANSWERS = ["Yes, {e} offers this to every guest.", "No, {e} does not offer this at the moment.",
            "{e} opens at {h}:00 and closes at {c}:00. Times may change on public holidays.",
            "Guests under {a} must be accompanied by an adult. Staff may ask for proof of age.",
            "Yes. Ask the front desk at {e} on arrival for details."]


def entity_names(count: int, rng: random.Random) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = f"{rng.choice(_NAME_A)} {rng.choice(_NAME_B)}"
        if name in seen:
            name = f"{name} {len(names)}"  # numbered branches, as real exports have
        seen.add(name)
        names.append(name)
    return names


def generate(rows: int, seed: int = 7) -> list[dict[str, str]]:
    """`rows` FAQ records with unique ids; most questions name their place, some are shared."""
    rng = random.Random(seed)
    per_entity = 4
    entities = entity_names(max(1, rows // per_entity + 1), rng)
    out: list[dict[str, str]] = []
    n = 0
    while len(out) < rows:
        entity = entities[n // per_entity]
        kind = KINDS[(n // per_entity) % len(KINDS)]
        if rng.random() < 0.08:
            question = rng.choice(SHARED)
        else:
            question = rng.choice(_QUESTIONS[kind]).format(e=entity)
        answer = rng.choice(_ANSWERS).format(e=entity, h=rng.randint(7, 11),
                                             c=rng.randint(17, 23), a=rng.randint(8, 16))
        out.append({"id": f"{kind}-{n:05d}", "question": question, "answer": answer,
                    "url": f"https://example.travel/{kind}/{n:05d}"})
        n += 1
    return out


def write(out_dir: Path, rows: int, files: int = 5, seed: int = 7) -> list[Path]:
    """Write the records over `files` JSONL files in out_dir; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    records = generate(rows, seed)
    paths = []
    for f in range(files):
        path = out_dir / f"faq-{f + 1}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for record in records[f::files]:
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--rows", type=int, default=12000)
    ap.add_argument("--files", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    paths = write(args.out_dir, args.rows, args.files, args.seed)
    print(f"wrote {args.rows} FAQ rows to {len(paths)} files in {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
