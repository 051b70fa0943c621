"""The embedded face-recognition network: the published weights, ported faithfully, on aligned real faces."""

from __future__ import annotations

import os

import numpy as np
import pytest
from safetensors import safe_open

from fer_demo.analysis.alignment import chip_template, face_chip, similarity
from fer_demo.models.face_recognition import (
    ASSET,
    DESCRIPTOR_SIZE,
    SAME_PERSON_DISTANCE,
    describe,
    load_network,
)
from tests.support import face_api
from tests.support.real_footage import HEAD_POSE, clip_frames

PUBLISHED_BIN_SHA256 = "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589"  # npm 1.7.15


@pytest.fixture(scope="module")
def network():
    return load_network()


@pytest.fixture(scope="module")
def head_pose_faces(studio):
    """Aligned chips of the two people of Intel's head-pose clip (CC BY 4.0), every 25th frame,
    named by side: the woman is on the left of the picture, the man on the right."""
    chips, people = [], []
    for frame in clip_frames(HEAD_POSE)[::25]:
        found = studio.detector.detect(frame)
        for box, points in zip(found.boxes, found.landmarks, strict=True):
            chips.append(face_chip(frame, points))
            people.append("left" if (box[0] + box[2]) / 2 < frame.shape[1] / 2 else "right")
    return chips, people


def test_the_shipped_weights_are_the_published_file_with_its_license():
    with safe_open(str(ASSET), "np") as stored:
        metadata = stored.metadata()
    assert metadata["bin_sha256"] == PUBLISHED_BIN_SHA256
    assert "@vladmandic/face-api@1.7.15" in metadata["source"]
    assert ASSET.stat().st_size < 7_000_000
    assert "MIT License" in (ASSET.parent / "LICENSE-face-api.txt").read_text()


def test_the_port_gives_face_api_js_own_descriptors(network, head_pose_faces, tmp_path):
    """face-api.js run in Node on the same aligned real faces: the descriptors agree to float noise."""
    if face_api.installed() is None:
        if os.environ.get("FER_DEMO_REQUIRE_BROWSER") == "1":
            pytest.fail("node and npm are needed for the face-api.js reference")
        pytest.skip("no node and npm: the face-api.js reference cannot run")
    chips, _ = head_pose_faces
    theirs = face_api.reference_descriptors(chips, tmp_path)
    ours = describe(network, chips)
    assert ours.shape == theirs.shape == (len(chips), DESCRIPTOR_SIZE) and len(chips) >= 10
    worst = float(np.abs(ours - theirs).max())
    print(f"worst difference from face-api.js over {len(chips)} faces: {worst:.2e}")
    assert worst < 1e-4


def test_one_person_is_near_and_two_people_far_on_real_footage(network, head_pose_faces):
    """dlib's own threshold separates the two people of the clip as they turn their heads."""
    chips, people = head_pose_faces
    descriptors = describe(network, chips)
    distances = np.linalg.norm(descriptors[:, None] - descriptors[None], axis=2)
    same = [distances[i, j] for i in range(len(chips)) for j in range(i) if people[i] == people[j]]
    apart = [distances[i, j] for i in range(len(chips)) for j in range(i) if people[i] != people[j]]
    assert len(same) >= 10 and len(apart) >= 10
    assert max(same) < SAME_PERSON_DISTANCE < min(apart), (max(same), min(apart))


def test_alignment_undoes_a_rotation_and_a_scale():
    template = chip_template()
    angle, scale, shift = np.deg2rad(20), 2.5, np.array([40.0, -12.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    seen = template @ (scale * rotation).T + shift  # the template's points as a camera saw them
    matrix = similarity(seen, template)
    back = seen @ matrix[:, :2].T + matrix[:, 2]
    assert np.allclose(back, template, atol=1e-9)


def test_a_tilted_face_gives_the_same_chip_as_the_upright_one(network, head_pose_faces, studio):
    import cv2

    frame = clip_frames(HEAD_POSE)[0]
    found = studio.detector.detect(frame)
    center = (frame.shape[1] / 2, frame.shape[0] / 2)
    turn = cv2.getRotationMatrix2D(center, 15, 1.0)
    tilted = cv2.warpAffine(frame, turn, (frame.shape[1], frame.shape[0]))
    points = found.landmarks @ turn[:, :2].T + turn[:, 2]
    upright = describe(network, [face_chip(frame, p) for p in found.landmarks])
    turned = describe(network, [face_chip(tilted, p) for p in points])
    assert np.linalg.norm(upright - turned, axis=1).max() < 0.2  # far below the 0.6 between people
