"""Video reading and writing, on small clips synthesized with PyAV (a bright square moving on a gradient)."""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from fer_demo.errors import InputError
from fer_demo.media.video_io import Frame, VideoInfo, VideoWriter, probe, read_frames

SQUARE = 32  # side of the moving bright square, pixels
TONE = 440.0  # Hz, the synthesized audio
FAST_ENCODING = {  # keeps the clips' synthesis well under a second
    "libx264": {"preset": "ultrafast"},
    "libvpx": {"deadline": "realtime", "cpu-used": "8"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8"},
}


def picture(index: int, width: int = 320, height: int = 240) -> np.ndarray:
    """RGB uint8 (H, W, 3): a horizontal/vertical gradient with a white square that moves 4 px per frame."""
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 // (width - 1), y * 255 // (height - 1), np.full_like(x, 60)], axis=-1)
    image = image.astype(np.uint8) // 2
    left = square_left(index, width)
    image[height // 3 : height // 3 + SQUARE, left : left + SQUARE] = 255
    return image


def square_left(index: int, width: int = 320) -> int:
    return (index * 4) % max(width - SQUARE, 1)


def make_video(
    path: Path,
    frames: int = 60,
    fps: int = 30,
    size: tuple[int, int] = (320, 240),
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    audio: str | None = None,
    pts_ms: list[int] | None = None,
    display_rotation: int | None = None,
    images: list[np.ndarray] | None = None,
    options: dict[str, str] | None = None,
    audio_seconds: float | None = None,
) -> Path:
    """Encode a clip; ``pts_ms`` gives a variable frame rate, ``audio`` adds a 440 Hz mono tone from 0 s."""
    width, height = size
    with av.open(str(path), "w", options=options or {}) as container:
        video = container.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        video.options = FAST_ENCODING.get(codec, {})
        if display_rotation is not None:
            video.set_display_rotation(display_rotation)  # counter-clockwise, as frame.rotation reads it
        if pts_ms is not None:
            video.codec_context.time_base = Fraction(1, 1000)
        tone = add_tone(container, audio) if audio else None
        for index in range(frames):
            image = images[index % len(images)] if images else picture(index, width, height)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if pts_ms is not None:
                frame.pts, frame.time_base = pts_ms[index], Fraction(1, 1000)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if tone is not None:
            write_tone(container, tone, audio_seconds or frames / fps)
    return path


def add_tone(container: av.container.OutputContainer, codec: str, rate: int = 48000) -> av.audio.AudioStream:
    stream = container.add_stream(codec, rate=rate)
    stream.layout = "mono"
    return stream


def write_tone(container: av.container.OutputContainer, stream: av.audio.AudioStream, seconds: float) -> None:
    """A 440 Hz sine at 0.3 amplitude, in 20 ms frames."""
    rate = stream.codec_context.sample_rate
    total = int(seconds * rate)
    signal = (0.3 * np.sin(2 * np.pi * TONE * np.arange(total) / rate)).astype(np.float32)
    for start in range(0, total, 960):
        frame = av.AudioFrame.from_ndarray(signal[None, start : start + 960], format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def read_audio(path: Path) -> tuple[np.ndarray, int, str]:
    """The first audio track as mono float samples, its sample rate and codec name."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [
            frame.to_ndarray().reshape(frame.layout.nb_channels, -1)[0] for frame in container.decode(stream)
        ]
        return np.concatenate(chunks), stream.codec_context.sample_rate, stream.codec_context.name


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


def remux_with_junk(source: Path, target: Path, junk_indices: set[int] | None) -> Path:
    """Copy the video track, replacing the data of some packets (all if None) with random bytes."""
    rng = np.random.default_rng(0)
    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        in_stream = inp.streams.video[0]
        out_stream = out.add_stream_from_template(in_stream)
        index = 0
        for packet in inp.demux(in_stream):
            if packet.size == 0:
                continue
            if junk_indices is None or index in junk_indices:
                junk = av.Packet(rng.bytes(packet.size))
                junk.pts, junk.dts, junk.time_base = packet.pts, packet.dts, packet.time_base
                packet = junk
            packet.stream = out_stream
            out.mux(packet)
            index += 1
    return target


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "mp4": make_video(folder / "clip.mp4", audio="aac"),
        "webm": make_video(folder / "clip.webm", codec="libvpx", audio="libopus"),
        "vp9": make_video(folder / "vp9.webm", frames=10, codec="libvpx-vp9"),
        "mkv": make_video(folder / "clip.mkv", codec="mpeg4"),
        "avi": make_video(folder / "clip.avi", codec="mjpeg", pix_fmt="yuvj420p"),
        "faststart": make_video(folder / "faststart.mp4", options={"movflags": "+faststart"}),
    }


def assert_readable_message(error: pytest.ExceptionInfo[InputError], *words: str) -> None:
    message = str(error.value)
    for word in words:
        assert word in message
    for leak in ("Errno", "Traceback", "/tmp", "pytest", "avformat", "avcodec", "0x"):
        assert leak not in message


# ---------------------------------------------------------------- probe and read_frames


def test_probe_h264_mp4_with_aac(clips: dict[str, Path]) -> None:
    info = probe(clips["mp4"])
    assert info == VideoInfo(
        width=320,
        height=240,
        fps=30.0,
        duration=pytest.approx(2.0, abs=1 / 30),
        frame_count=60,
        rotation=0,
        codec="h264",
        has_audio=True,
        audio_codec="aac",
    )


@pytest.mark.parametrize(
    ("name", "codec", "frames", "audio_codec"),
    [
        ("webm", "vp8", 60, "opus"),
        ("vp9", "vp9", 10, None),
        ("mkv", "mpeg4", 60, None),
        ("avi", "mjpeg", 60, None),
    ],
)
def test_other_containers_probe_and_read(
    clips: dict[str, Path], name: str, codec: str, frames: int, audio_codec: str | None
) -> None:
    info = probe(clips[name])
    assert (info.width, info.height, info.codec, info.audio_codec) == (320, 240, codec, audio_codec)
    assert info.fps == pytest.approx(30.0)
    assert info.duration == pytest.approx(frames / 30, abs=0.05)
    assert info.frame_count == frames
    decoded = list(read_frames(clips[name]))
    assert len(decoded) == frames
    assert_square_moves(decoded)


def assert_square_moves(frames: list[Frame]) -> None:
    """Each frame shows its own square: frames come in order and are RGB, not BGR or scrambled."""
    for frame in frames[:: max(1, len(frames) // 6)]:
        top, left = 240 // 3, square_left(frame.index)
        assert frame.image[top + 4 : top + SQUARE - 4, left + 4 : left + SQUARE - 4].min() > 200
    red_right = frames[0].image[200, 300]  # the gradient puts red on the right, green at the bottom
    assert red_right[0] > red_right[2] + 40


def test_probe_webm_without_duration(tmp_path: Path) -> None:
    """Browsers' MediaRecorder writes WebM as a live stream, without any duration: it is measured."""
    path = tmp_path / "recorded.webm"

    class NotSeekable:  # forces the muxer's live mode, as a browser recording
        def __init__(self, file) -> None:
            self.file = file

        def write(self, data: bytes) -> int:
            return self.file.write(data)

    with path.open("wb") as file, av.open(NotSeekable(file), "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(30):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(picture(index, 64, 48), format="rgb24")))
        container.mux(stream.encode(None))
    with av.open(str(path)) as container:
        assert container.duration is None and not container.streams.video[0].metadata
    info = probe(path)
    assert info.duration == pytest.approx(1.0, abs=0.05)
    assert info.frame_count == 30


def test_read_frames_cfr_times_and_arrays(clips: dict[str, Path]) -> None:
    frames = list(read_frames(clips["mp4"]))
    assert [frame.index for frame in frames] == list(range(60))
    times = np.array([frame.time for frame in frames])
    assert np.all(np.diff(times) > 0)
    np.testing.assert_allclose(times, np.arange(60) / 30, atol=1e-3)
    image = frames[0].image
    assert image.shape == (240, 320, 3) and image.dtype == np.uint8
    assert image.flags.c_contiguous and image.flags.writeable
    assert_square_moves(frames)


def test_read_frames_variable_frame_rate(tmp_path: Path) -> None:
    pts_ms = [0, 33, 50, 120, 200, 210, 400, 433, 466, 700]
    path = make_video(tmp_path / "vfr.mp4", frames=len(pts_ms), pts_ms=pts_ms)
    times = [frame.time for frame in read_frames(path)]
    np.testing.assert_allclose(times, np.array(pts_ms) / 1000, atol=1e-3)


@pytest.mark.parametrize(
    ("display_rotation", "clockwise", "corner"),
    [
        (-90, 90, "top-right"),  # how phones tag portrait video ("rotate=90")
        (90, 270, "bottom-left"),
        (180, 180, "bottom-right"),
    ],
)
def test_rotation_from_display_matrix(
    tmp_path: Path, display_rotation: int, clockwise: int, corner: str
) -> None:
    stored = np.zeros((48, 64, 3), np.uint8)
    stored[:12, :12] = 255  # the bright corner is top-left as stored
    path = make_video(
        tmp_path / "rotated.mp4", frames=3, size=(64, 48), images=[stored], display_rotation=display_rotation
    )
    info = probe(path)
    assert info.rotation == clockwise
    expected_size = (48, 64) if clockwise in (90, 270) else (64, 48)
    assert (info.width, info.height) == expected_size
    image = next(read_frames(path)).image
    assert (image.shape[1], image.shape[0]) == expected_size
    assert image.flags.c_contiguous
    height, width = image.shape[:2]
    corners = {
        "top-left": image[:8, :8],
        "top-right": image[:8, width - 8 :],
        "bottom-left": image[height - 8 :, :8],
        "bottom-right": image[height - 8 :, width - 8 :],
    }
    assert corners.pop(corner).mean() > 200
    assert all(patch.mean() < 50 for patch in corners.values())


# ---------------------------------------------------------------- bad input


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        probe(tmp_path / "nothing.mp4")
    assert_readable_message(error, "No video")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(InputError) as error:
        probe(tmp_path / "empty.mp4")
    assert_readable_message(error, "empty (0 bytes)")


@pytest.mark.parametrize(
    "content",
    [np.random.default_rng(1).bytes(50_000), b"This is a lecture transcript, not a video.\n" * 200],
    ids=["random-bytes", "text"],
)
def test_not_a_video(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "upload.mp4"
    path.write_bytes(content)
    with pytest.raises(InputError) as error:
        probe(path)
    assert_readable_message(error, "not a video we can read")
    with pytest.raises(InputError):
        next(read_frames(path))


def test_audio_only_file(tmp_path: Path) -> None:
    path = tmp_path / "voice.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        write_tone(container, add_tone(container, "aac"), 0.5)
    with pytest.raises(InputError) as error:
        probe(path)
    assert_readable_message(error, "no video track")


def test_unknown_codec(tmp_path: Path) -> None:
    """An AVI whose FourCC no decoder knows (patched into a rawvideo AVI)."""
    path = make_video(tmp_path / "raw.avi", frames=3, size=(32, 24), codec="rawvideo", pix_fmt="bgr24")
    data = bytearray(path.read_bytes())
    handler = data.index(b"vids") + 4
    compression = data.index(b"strf") + 8 + 16  # BITMAPINFOHEADER.biCompression
    data[handler : handler + 4] = data[compression : compression + 4] = b"XQZ1"
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as error:
        probe(path)
    assert_readable_message(error, "codec", "not supported")


def test_no_decodable_frame(tmp_path: Path, clips: dict[str, Path]) -> None:
    path = remux_with_junk(clips["avi"], tmp_path / "junk.mkv", junk_indices=None)
    with pytest.raises(InputError) as error:
        probe(path)
    assert_readable_message(error, "No frame")
    with pytest.raises(InputError):
        list(read_frames(path))


def test_truncated_mp4_with_index_at_the_end_is_refused(tmp_path: Path, clips: dict[str, Path]) -> None:
    """PyAV/FFmpeg's default MP4 puts the index (moov) last: cut off, nothing can be read, and we say why."""
    data = clips["mp4"].read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(InputError) as error:
        probe(path)
    assert_readable_message(error, "incomplete")


def test_truncated_faststart_mp4_yields_the_first_frames(tmp_path: Path, clips: dict[str, Path]) -> None:
    """With the index first (faststart, as phones and our writer do) the frames before the cut are read."""
    data = clips["faststart"].read_bytes()
    cut = int(len(data) * 0.6)
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[:cut])
    with av.open(str(clips["faststart"])) as container:
        complete = sum(1 for p in container.demux(video=0) if p.size and p.pos + p.size <= cut)
    assert probe(path).frame_count == 60  # the index still describes the whole video
    frames = list(read_frames(path))
    assert complete - 1 <= len(frames) <= complete < 60
    assert_square_moves(frames)


def test_damaged_packet_in_the_middle_is_skipped(
    tmp_path: Path, clips: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    path = remux_with_junk(clips["avi"], tmp_path / "damaged.mkv", junk_indices={30})
    with caplog.at_level(logging.WARNING, logger="fer_demo.media.video_io"):
        frames = list(read_frames(path))
    times = [round(frame.time * 30) for frame in frames]
    assert times == [index for index in range(60) if index != 30]  # only the damaged frame is missing
    assert len(caplog.records) == 1  # one warning, not one per damaged packet


# ---------------------------------------------------------------- VideoWriter


def write_clip(path: Path, frames: int, fps: float, size: tuple[int, int] = (320, 240), **options) -> Path:
    with VideoWriter(path, fps, preset="ultrafast", **options) as writer:
        for index in range(frames):
            writer.write(picture(index, *size))
    return path


def test_writer_round_trip_odd_size(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "out.mp4", frames=30, fps=25, size=(321, 241))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert (stream.width, stream.height) == (322, 242)
        assert stream.frames == 30
        assert float(stream.duration * stream.time_base) == pytest.approx(30 / 25, abs=1 / 25)
        assert not container.streams.audio
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: playable before fully downloaded
    frames = list(read_frames(path))
    assert len(frames) == 30
    np.testing.assert_allclose([frame.time for frame in frames], np.arange(30) / 25, atol=1e-3)
    original = picture(7, 321, 241).astype(int)
    assert np.abs(frames[7].image[:241, :321].astype(int) - original).mean() < 4  # BT.709 both ways: no tint


def test_writer_keeps_given_times(tmp_path: Path) -> None:
    times = [0.0, 0.1, 0.5, 0.6, 1.3]
    path = tmp_path / "vfr.mp4"
    with VideoWriter(path, 10, preset="ultrafast") as writer:
        for index, time in enumerate(times):
            writer.write(picture(index), time=time)
    np.testing.assert_allclose([frame.time for frame in read_frames(path)], times, atol=1e-3)


@pytest.mark.parametrize(
    ("source", "copied"), [("mp4", True), ("webm", False)], ids=["aac-copied", "opus-to-aac"]
)
def test_writer_adds_source_audio(tmp_path: Path, clips: dict[str, Path], source: str, copied: bool) -> None:
    path = write_clip(tmp_path / "out.mp4", frames=60, fps=30, audio_from=clips[source])
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert audio.codec_context.name == "aac"
        video_seconds = float(video.duration * video.time_base)
        assert float(audio.duration * audio.time_base) == pytest.approx(video_seconds, abs=0.1)
    samples, rate, _ = read_audio(path)
    assert len(samples) / rate == pytest.approx(2.0, abs=0.1)
    assert dominant_frequency(samples, rate) == pytest.approx(TONE, abs=5)
    if copied:  # the AAC packets are the source's own, not re-encoded
        with av.open(str(path)) as out, av.open(str(clips[source])) as src:
            out_packets = [bytes(p) for p in out.demux(out.streams.audio[0]) if p.size]
            src_packets = [bytes(p) for p in src.demux(src.streams.audio[0]) if p.size]
        assert out_packets == src_packets


def test_writer_trims_audio_to_the_video(tmp_path: Path, clips: dict[str, Path]) -> None:
    path = write_clip(tmp_path / "short.mp4", frames=15, fps=30, audio_from=clips["webm"])
    samples, rate, _ = read_audio(path)
    assert len(samples) / rate == pytest.approx(0.5, abs=0.1)


@pytest.mark.parametrize("codec", ["aac", "libopus"], ids=["copied", "transcoded"])
def test_writer_aligns_audio_with_the_first_video_frame(tmp_path: Path, codec: str) -> None:
    """Video starting at 0.5 s over audio starting at 0: the output starts both at the first video frame."""
    source = make_video(
        tmp_path / "late.mkv",
        frames=30,
        pts_ms=[500 + 33 * i for i in range(30)],
        audio=codec,
        audio_seconds=2.0,
    )
    info = probe(source)
    assert (info.frame_count, info.duration) == (30, pytest.approx(1.0, abs=0.05))
    assert next(read_frames(source)).time == 0.0
    path = write_clip(tmp_path / "out.mp4", frames=30, fps=30, audio_from=source)
    samples, rate, out_codec = read_audio(path)
    assert out_codec == "aac"
    assert len(samples) / rate == pytest.approx(1.0, abs=0.05)  # 0.5 s of the tone is before the video


def test_writer_source_without_audio_gives_video_only(tmp_path: Path, clips: dict[str, Path]) -> None:
    path = write_clip(tmp_path / "out.mp4", frames=5, fps=30, audio_from=clips["mkv"])
    with av.open(str(path)) as container:
        assert len(container.streams.video) == 1 and not container.streams.audio


def test_writer_refuses_bad_frames_in_the_caller(tmp_path: Path) -> None:
    with VideoWriter(tmp_path / "out.mp4", 30) as writer:
        writer.write(picture(0))
        with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
            writer.write(picture(1)[..., :2])
        with pytest.raises(ValueError, match="320x240"):
            writer.write(picture(1, 160, 120))
        with pytest.raises(ValueError):
            writer.write(picture(1).astype(np.float32))
    assert len(list(read_frames(tmp_path / "out.mp4"))) == 1


def test_encoder_thread_error_reaches_the_caller(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "out.mp4", 30, preset="no-such-preset")
    with pytest.raises(av.FFmpegError):  # on a later write() or at the latest on close()
        for index in range(40):  # more than the queue holds: must not block after the thread failed
            writer.write(picture(index))
        writer.close()
    with pytest.raises(av.FFmpegError):
        writer.write(picture(0))
    with pytest.raises(av.FFmpegError):
        writer.close()


def test_writer_does_not_hide_the_callers_error(tmp_path: Path) -> None:
    with pytest.raises(KeyError), VideoWriter(tmp_path / "out.mp4", 30) as writer:
        writer.write(picture(0))
        raise KeyError("the caller's own error")
    with pytest.raises(RuntimeError, match="closed"):
        writer.write(picture(1))


def test_reading_keeps_memory_flat(tmp_path: Path) -> None:
    """600 frames of 640x360 RGB would be 415 MB if kept; streaming keeps the resident size flat."""
    statm = Path("/proc/self/statm")
    if not statm.exists():
        pytest.skip("needs /proc/self/statm (Linux) to read the resident set size")
    page = os.sysconf("SC_PAGE_SIZE")
    images = [picture(index, 640, 360) for index in range(0, 40, 4)]
    path = make_video(tmp_path / "long.mp4", frames=600, size=(640, 360), images=images)
    peak = baseline = 0
    for frame in read_frames(path):
        rss = int(statm.read_text().split()[1]) * page
        if frame.index == 20:
            baseline = rss
        peak = max(peak, rss) if frame.index >= 20 else peak
    assert frame.index == 599
    assert peak - baseline < 60 * 2**20
