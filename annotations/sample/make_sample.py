"""Regenerate the bundled sample: CT-like images for the sample captions, non-COVID images, and two
generated preprint PDFs. Deterministic; run from the repository root:

    python annotations/sample/make_sample.py
"""

from __future__ import annotations

import csv
from pathlib import Path

from PIL import Image

from ctlabel.testing.images import ct_like
from ctlabel.testing.papers import make_paper

HERE = Path(__file__).resolve().parent
# What each sample image shows. The COVID-19 patients' slices carry the ground-glass pattern (a
# difference a small network learns in the demo); these four do not: the lesions were absorbed, a
# patient with influenza A, a suspected case, a healthy volunteer.
WITHOUT_COVID_PATTERN = {"demo01-p5-3.png", "demo02-p3-2.png", "demo02-p3-3.png", "demo03-p7-2.png"}


def main() -> None:
    covid, noncovid, pdfs = HERE / "images" / "covid", HERE / "images" / "noncovid", HERE / "pdfs"
    for folder in (covid, noncovid, pdfs):
        folder.mkdir(parents=True, exist_ok=True)
    with (HERE / "captions.csv").open(encoding="utf-8") as fh:
        for k, row in enumerate(csv.DictReader(fh)):
            lesion = "consolidation" if "onsolidation" in row["caption"] else "ggo"
            if row["image"] in WITHOUT_COVID_PATTERN:
                lesion = None
            Image.fromarray(ct_like(1000 + k, lesion)).save(covid / row["image"])
    for k in range(12):
        Image.fromarray(ct_like(2000 + k, None)).save(noncovid / f"noncovid-{k:02d}.png")
    make_paper(pdfs / "demo-preprint-a.pdf", seed=10, doi="10.1101/2020.02.10.00000001")
    make_paper(pdfs / "demo-preprint-b.pdf", seed=11, doi="10.1101/2020.02.10.00000002")


if __name__ == "__main__":
    main()
