"""``ctlabel review status``: progress and agreement (machine vs people, people vs people)."""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Any, cast

from ctlabel.metrics import cohen_kappa
from ctlabel.review.tasks import annotation_votes, annotator_of, resolve, valid_annotations
from ctlabel.schema import LABELS, POSITIVE, Record, label_of


def review_status(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """Progress (tasks annotated, skipped only, remaining), annotators, Cohen's kappa per label machine vs people
    and people vs people (positive or not), and the ten machine rules people overruled most."""
    total = annotated = skipped = 0
    machine_human: dict[str, list[tuple[int, int]]] = {label: [] for label in LABELS}
    human_human: dict[str, list[tuple[int, int]]] = {label: [] for label in LABELS}
    overruled: Counter = Counter()
    annotators: Counter = Counter()
    for task in tasks:
        total += 1
        valid = valid_annotations(task)
        if not valid:
            skipped += bool(task.get("annotations"))
            continue
        annotated += 1
        machine = cast(Record, task["data"]["record"])
        reviewed, _ = resolve(task)
        ballots = [annotation_votes(a)[0] for a in valid]
        annotators.update(annotator_of(a) for a in valid)
        for label in LABELS:
            m = int(label_of(machine, label)["state"] == POSITIVE)
            h = int(label_of(reviewed, label)["state"] == POSITIVE)
            if reviewed["provenance"]["labels"].get(label) == "human":
                machine_human[label].append((m, h))
                if m != h:
                    rules = [e["rule"].split(" | ")[0] for e in label_of(machine, label)["evidence"]] or [
                        f"{label}: (no mention)"
                    ]
                    overruled.update(f"{rule} → {'rejected' if m else 'added'}" for rule in set(rules))
            votes = [int(b[label] == POSITIVE) for b in ballots if label in b]
            human_human[label].extend(combinations(votes, 2))

    def kappas(table: dict[str, list[tuple[int, int]]]) -> dict[str, dict[str, Any]]:
        return {label: {"kappa": cohen_kappa(pairs), "n": len(pairs)} for label, pairs in table.items()}

    return {
        "tasks": total,
        "annotated": annotated,
        "skipped_only": skipped,
        "remaining": total - annotated - skipped,
        "annotators": dict(annotators),
        "machine_vs_human": kappas(machine_human),
        "human_vs_human": kappas(human_human),
        "most_overruled_rules": overruled.most_common(10),
    }
