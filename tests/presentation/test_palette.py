"""The expression colours stay apart for colour-blind viewers, and every chart uses them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from colorspacious import cspace_convert, deltaE

from fer_demo.presentation.palette import EMOTION_COLOURS
from fer_demo.presentation.plots import emotion_timeline

VISION = [None, "protanomaly", "deuteranomaly", "tritanomaly"]  # severity 100: full dichromacy


def seen_as(colour: str, vision: str | None) -> np.ndarray:
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    if vision is None:
        return rgb
    space = {"name": "sRGB1+CVD", "cvd_type": vision, "severity": 100}
    return np.clip(cspace_convert(rgb, space, "sRGB1"), 0, 1)


@pytest.mark.parametrize("vision", VISION)
def test_every_two_expressions_look_different(vision):
    closest = min(
        (deltaE(seen_as(a, vision), seen_as(b, vision), input_space="sRGB1"), name_a, name_b)
        for (name_a, a), (name_b, b) in itertools.combinations(EMOTION_COLOURS.items(), 2)
    )
    assert closest[0] >= 15, closest  # CAM02-UCS units; the old palette's worst pair was 7


def test_happiness_and_anger_are_not_both_orange():
    hue = {name: cspace_convert(seen_as(EMOTION_COLOURS[name], None), "sRGB1", "JCh")[2]
           for name in ("Happiness", "Anger")}  # fmt: skip
    assert abs(hue["Happiness"] - hue["Anger"]) >= 40  # degrees of hue


def test_the_timeline_draws_each_expression_in_its_colour():
    rows = [{"time": t / 10, "face_id": 1, **dict.fromkeys(EMOTION_COLOURS, 1 / 8)} for t in range(5)]
    figure = emotion_timeline({1: rows})
    assert {trace.name: trace.line.color for trace in figure.data} == EMOTION_COLOURS
