"""The labeling config (bundled: ctlabel/resources/labeling-config.xml) and the checks a project's config must pass."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ctlabel.errors import CtlabelError
from ctlabel.resources import read_resource
from ctlabel.schema import LESIONS

COVID_CHOICES = {"positive": "COVID", "negative": "NonCOVID", "uncertain": "Uncertain"}
_IMAGE_BLOCK = re.compile(r"\s*<View className=\"ctl-image\">.*?</View>", re.DOTALL)


def labeling_config(with_image: bool) -> str:
    """The project's config; without the image pane when no record has an image."""
    text = read_resource("labeling-config.xml")
    return text if with_image else _IMAGE_BLOCK.sub("", text, count=1)


def check_config(xml: str, where: str) -> None:
    """A project must have the controls ctlabel reads back; say which one is missing."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise CtlabelError(f"{where}: the labeling config is not valid XML ({exc})") from None
    controls = {(el.tag, el.get("name")): el for el in root.iter()}
    covid = controls.get(("Choices", "covid"))
    if covid is None or {c.get("value") for c in covid.iter("Choice")} < set(COVID_CHOICES.values()):
        raise CtlabelError(f'{where}: the labeling config lacks <Choices name="covid"> with COVID, NonCOVID, Uncertain')
    lesions = controls.get(("Choices", "lesions"))
    if (
        lesions is None
        or lesions.get("choice") != "multiple"
        or {c.get("value") for c in lesions.iter("Choice")} < set(LESIONS)
    ):
        raise CtlabelError(
            f'{where}: the labeling config lacks <Choices name="lesions" choice="multiple"> with {", ".join(LESIONS)}'
        )
