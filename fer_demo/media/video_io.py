"""Read uploaded videos frame by frame and write annotated H.264 MP4s, with PyAV.

Uploads can be long, so nothing here holds a whole video: :func:`read_frames` decodes one
frame at a time and :class:`VideoWriter` encodes in a background thread fed by a small queue,
so decoding and inference in the caller overlap with encoding. Every problem with an upload
becomes an :class:`InputError` whose message can be shown as it is.

Images are RGB uint8 ``(H, W, 3)``, upright (the container's rotation applied), everywhere;
YUV and BGR exist only inside PyAV.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np
from av.container import InputContainer, OutputContainer
from av.stream import Disposition

from fer_demo.durations import duration_text
from fer_demo.errors import InputError

logger = logging.getLogger(__name__)

NOT_A_VIDEO = "This file is not a video we can read. Please upload an MP4, MOV, WebM, AVI or MKV video."
INCOMPLETE_MP4 = (
    "This MP4/MOV video is incomplete or damaged (often an upload that was cut off or a recording "
    "that was not finished), so it cannot be read. Please upload the complete file."
)
NO_VIDEO_TRACK = "This file has no video track (it contains only audio). Please upload a video."
NO_FRAMES = "No frame of this video could be decoded; the file may be damaged. Please upload it again."

# Audio codecs an MP4 can carry and every browser plays; others are transcoded to AAC.
_MP4_AUDIO_CODECS = frozenset({"aac", "mp3"})
_AAC_RATES = frozenset({8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000})
_DEFAULT_FPS = 30.0


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` learned about a video; width and height are as displayed (after rotation)."""

    width: int
    height: int
    fps: float  # average frame rate
    duration: float  # seconds
    frame_count: int  # from the container, or estimated as duration * fps
    rotation: int  # 0, 90, 180 or 270: degrees clockwise that make the stored picture upright
    codec: str
    has_audio: bool
    audio_codec: str | None


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame: ``image`` is RGB uint8 (H, W, 3), upright, C-contiguous and writable."""

    index: int  # 0-based, in decode (= presentation) order
    time: float  # seconds since the video stream's start, from its own timestamps (correct for VFR)
    image: np.ndarray


# Demuxers that turn non-video files into "video" streams: text rendered as ANSI art, subtitles.
NOT_VIDEO_FORMATS = {"tty", "bin", "xbin", "idf", "adf", "srt", "ass", "webvtt", "lrc", "subviewer"}
IMAGE_NOT_VIDEO = "This is a still image, not a video. Please use the Image tab for photos."


def probe(path: str | Path) -> VideoInfo:
    """Describe a video, decoding only its first frame; raises InputError if it cannot be analysed."""
    with _open_input(path) as container:
        stream = _video_stream(container)
        first = next(_decoded_frames(container, stream), None)
        if first is None:
            raise InputError(NO_FRAMES)
        rotation = _rotation(stream, first)
        width, height = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
        fps = _fps(stream)
        duration = _duration(container, stream)
        audio = _audio_stream(container)
        return VideoInfo(
            width=width,
            height=height,
            fps=fps,
            duration=duration,
            frame_count=stream.frames if stream.frames > 0 else max(1, round(duration * fps)),
            rotation=rotation,
            codec=_codec_name(stream),
            has_audio=audio is not None,
            audio_codec=_codec_name(audio) if audio is not None else None,
        )


def read_frames(path: str | Path, max_side: int | None = None) -> Iterator[Frame]:
    """Yield every decodable frame of a video at full resolution, one at a time (constant memory).

    A damaged packet is skipped (one warning is logged) and a truncated file yields the frames
    before the damage. With ``max_side``, a frame larger than that (a stream can change size
    midway) raises InputError before it is converted to RGB. This is a generator: InputError
    for an unreadable file is raised when iteration starts.
    """
    with _open_input(path) as container:
        stream = _video_stream(container)
        stream.thread_type = "AUTO"
        rotation: int | None = None
        start: float | None = None
        previous = 0.0
        index = 0
        for av_frame in _decoded_frames(container, stream):
            if rotation is None:
                rotation = _rotation(stream, av_frame)
                start = _start_seconds(stream, av_frame)
            if av_frame.time is not None:
                time = av_frame.time - start
            else:  # a few AVI/raw streams lack timestamps: assume a constant rate
                time = previous + 1.0 / _fps(stream) if index else 0.0
            if max_side is not None and max(av_frame.width, av_frame.height) > max_side:
                raise InputError(
                    f"At {duration_text(max(time, 0.0))} this video's picture becomes "
                    f"{av_frame.width}x{av_frame.height}; the largest accepted side is {max_side} "
                    "pixels. Please re-encode it at one size."
                )
            yield Frame(index=index, time=time, image=_to_rgb(av_frame, rotation))
            previous = time
            index += 1
        if index == 0:
            raise InputError(NO_FRAMES)


def _open_input(path: str | Path) -> InputContainer:
    path = Path(path)
    if not path.is_file():
        raise InputError("No video was received. Please upload a video file.")
    if path.stat().st_size == 0:
        raise InputError("The file is empty (0 bytes). Please upload a video.")
    try:
        container = av.open(str(path), mode="r", metadata_errors="replace")
    except (av.FFmpegError, OSError, ValueError) as error:
        raise InputError(INCOMPLETE_MP4 if _looks_like_mp4(path) else NOT_A_VIDEO) from error
    kind = container.format.name
    if kind in NOT_VIDEO_FORMATS or kind.endswith("_pipe") or kind.startswith("image2"):
        container.close()  # FFmpeg "plays" text files (tty) and still images as videos
        raise InputError(
            IMAGE_NOT_VIDEO if kind.endswith("_pipe") or kind.startswith("image2") else NOT_A_VIDEO
        )
    return container


def _looks_like_mp4(path: Path) -> bool:
    """True for the ISO media family (MP4, MOV, M4A): their first box is ``ftyp``."""
    with path.open("rb") as file:
        return file.read(12)[4:8] == b"ftyp"


def _video_stream(container: InputContainer) -> av.video.stream.VideoStream:
    """The first real video stream (cover art in audio files is not one) with a decoder."""
    streams = _real_video_streams(container)
    if not streams:
        raise InputError(NO_VIDEO_TRACK if container.streams.audio else NOT_A_VIDEO)
    stream = streams[0]
    if stream.codec_context is None:
        raise InputError(
            "This video's codec is not supported (it is unknown to our decoder). "
            "Please convert it to H.264 MP4 and upload it again."
        )
    return stream


def _real_video_streams(container: InputContainer) -> list[av.video.stream.VideoStream]:
    return [s for s in container.streams.video if not s.disposition & Disposition.attached_pic]


def _audio_stream(container: InputContainer) -> av.audio.stream.AudioStream | None:
    return container.streams.audio[0] if container.streams.audio else None


def _codec_name(stream: av.stream.Stream) -> str:
    """The format's name ("mp3"), not the decoder's ("mp3float")."""
    return stream.codec_context.codec.canonical_name if stream.codec_context is not None else "unknown"


def _decoded_frames(
    container: InputContainer, stream: av.video.stream.VideoStream
) -> Iterator[av.VideoFrame]:
    """Decode one stream, skipping packets the decoder rejects and stopping cleanly at damaged data."""
    packets = container.demux(stream)
    warned = False
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.FFmpegError:
            logger.warning("The video's data is damaged or cut off; keeping the frames decoded so far.")
            break
        try:
            frames = packet.decode()
        except av.error.DecoderNotFoundError as error:
            raise InputError(_unsupported_codec(stream)) from error
        except av.FFmpegError as error:
            if not warned:
                logger.warning("Skipping undecodable video data (%s); later frames are still read.", error)
                warned = True
            continue
        yield from frames
    yield from _flush(stream)


def _flush(stream: av.video.stream.VideoStream) -> list[av.VideoFrame]:
    """Frames still inside the (threaded) decoder after the demuxer stopped early."""
    try:
        return stream.decode(None)
    except av.FFmpegError:
        return []


def _unsupported_codec(stream: av.stream.Stream) -> str:
    return (
        f"This video's codec {_codec_name(stream)} is not supported by our decoder. "
        "Please convert it to H.264 MP4 and upload it again."
    )


def _rotation(stream: av.video.stream.VideoStream, frame: av.VideoFrame) -> int:
    """Clockwise degrees (0/90/180/270) to display the picture upright.

    PyAV 18 exposes the display matrix of phone videos as ``frame.rotation`` (counter-clockwise,
    so negated here); old demuxers exposed it as the ``rotate`` tag (clockwise).
    """
    degrees = -float(frame.rotation)
    if not degrees:
        try:
            degrees = float(stream.metadata.get("rotate", 0))
        except ValueError:
            degrees = 0.0
    return round(degrees / 90) % 4 * 90


def _start_seconds(stream: av.video.stream.VideoStream, first: av.VideoFrame) -> float:
    if stream.start_time is not None and stream.time_base is not None:
        return float(stream.start_time * stream.time_base)
    return first.time or 0.0


def _fps(stream: av.video.stream.VideoStream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 0 < float(rate) <= 1000:
            return float(rate)
    return _DEFAULT_FPS


def _duration(container: InputContainer, stream: av.video.stream.VideoStream) -> float:
    """Seconds of video, from the best source the file offers; scanning packets is the last resort."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    tagged_end = _clock_seconds(stream.metadata.get("DURATION", ""))  # Matroska: the track's end time
    if tagged_end is not None and tagged_end > start:
        return tagged_end - start
    if container.duration:  # the end of all streams: an over-estimate if the audio runs longer
        return max(((container.start_time or 0) + container.duration) / av.time_base - start, 0.0)
    return _scanned_end(container, stream) - start


def _clock_seconds(text: str) -> float | None:
    """``"00:01:02.500000000"`` -> 62.5; None if the text is not such a clock."""
    try:
        hours, minutes, seconds = text.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None


def _scanned_end(container: InputContainer, stream: av.video.stream.VideoStream) -> float:
    """End time of the last packet, for files that never got a duration (live-recorded WebM, MediaRecorder).

    Reads packet headers only, no decoding, but the whole file: a few tenths of a second for a large file.
    """
    end = 0.0
    try:
        for packet in container.demux(stream):
            if packet.pts is not None and packet.time_base is not None:
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    except av.FFmpegError:
        pass  # a damaged tail: the end found so far
    return end


def _to_rgb(frame: av.VideoFrame, rotation: int) -> np.ndarray:
    """RGB uint8 (H, W, 3), rotated upright; swscale uses the frame's own colour matrix and range."""
    image = frame.to_ndarray(format="rgb24")
    if rotation:
        image = np.rot90(image, k=-rotation // 90)
    image = np.ascontiguousarray(image)
    return image if image.flags.writeable else image.copy()


class VideoWriter:
    """Write RGB frames as an H.264 (yuv420p, BT.709) MP4 that browsers can start playing at once.

    Encoding runs in a background thread fed by a bounded queue, so the caller's decoding and
    inference overlap with it. An error in that thread is raised again by the next :meth:`write`
    or by :meth:`close`. Odd sizes are padded by one edge pixel (H.264 4:2:0 needs even sizes).
    With ``audio_from``, that file's first audio track is added: AAC/MP3 copied as they are,
    anything else (Opus, Vorbis, PCM...) transcoded to AAC; it is trimmed to the video's length.

    Use as a context manager::

        with VideoWriter(out_path, info.fps, audio_from=upload) as writer:
            for frame in read_frames(upload):
                writer.write(annotate(frame.image), time=frame.time)
    """

    def __init__(
        self,
        path: str | Path,
        fps: float,
        *,
        crf: int = 23,
        preset: str = "veryfast",
        audio_from: str | Path | None = None,
        queue_size: int = 8,
    ) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.path = Path(path)
        self.rate = Fraction(fps).limit_denominator(1001)
        self.frames_written = 0
        self._size: tuple[int, int] | None = None
        self._last_pts = -1
        self._closed = False
        self._error: Exception | None = None
        self._queue: queue.Queue[tuple[np.ndarray, int] | None] = queue.Queue(maxsize=queue_size)
        container = av.open(str(self.path), mode="w", format="mp4", options={"movflags": "+faststart"})
        self._encoder = _Encoder(container, self.rate, crf, preset, Path(audio_from) if audio_from else None)
        self._thread = threading.Thread(target=self._run, name="VideoWriter", daemon=True)
        self._thread.start()

    def write(self, image: np.ndarray, time: float | None = None) -> None:
        """Queue one RGB uint8 (H, W, 3) frame; every frame must have the first one's size.

        ``time`` (seconds) keeps a variable-frame-rate source's timing; by default frame ``i``
        is shown at ``i / fps``. The array is copied, so the caller may reuse it.
        """
        self._raise_if_failed()
        if self._closed:
            raise RuntimeError("This VideoWriter is closed.")
        self._check(image)
        pts = self.frames_written if time is None else round(time * self.rate)
        pts = max(pts, self._last_pts + 1)  # strictly increasing, as MP4 requires
        self._last_pts = pts
        self._queue.put((np.array(image, dtype=np.uint8, order="C", copy=True), pts))
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder, add the audio, finish the file and join the thread; idempotent."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()
        self._raise_if_failed()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
            return
        try:  # the body's exception matters more than an encoder one
            self.close()
        except Exception:
            if self.frames_written:
                logger.exception("Video encoding also failed while handling another error")

    def _check(self, image: np.ndarray) -> None:
        if (
            not isinstance(image, np.ndarray)
            or image.dtype != np.uint8
            or image.ndim != 3
            or image.shape[2] != 3
        ):
            raise ValueError(f"Expected an RGB uint8 array of shape (H, W, 3), got {_describe(image)}")
        size = (image.shape[1], image.shape[0])
        if self._size is None:
            self._size = size
        elif size != self._size:
            raise ValueError(f"Every frame must be {self._size[0]}x{self._size[1]}; got {size[0]}x{size[1]}")

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        """Encoder thread: encode until the sentinel; after a failure keep draining so put() never blocks."""
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue
            try:
                self._encoder.encode(*item)
            except Exception as error:
                self._error = error
        try:
            if self._error is None:
                self._encoder.finish()
        except Exception as error:
            self._error = error
        finally:
            self._encoder.close()


def _describe(image: object) -> str:
    if isinstance(image, np.ndarray):
        return f"{image.dtype} array of shape {image.shape}"
    return type(image).__name__


class _Encoder:
    """Owns the output container; used only by the writer's thread."""

    def __init__(
        self, container: OutputContainer, rate: Fraction, crf: int, preset: str, audio_from: Path | None
    ) -> None:
        self.container = container
        self.rate = rate
        self.options = {"crf": str(crf), "preset": preset}
        self.audio_from = audio_from
        self.stream: av.video.stream.VideoStream | None = None
        self.audio: _AudioTrack | None = None
        self.end_pts = 0

    def encode(self, image: np.ndarray, pts: int) -> None:
        image = _pad_even(image)
        if self.stream is None:
            self._start(width=image.shape[1], height=image.shape[0])
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame = frame.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
        frame.pts = pts
        frame.time_base = 1 / self.rate
        self.container.mux(self.stream.encode(frame))
        self.end_pts = pts + 1
        if self.audio is not None:
            self.audio.mux_until(float(pts / self.rate))

    def _start(self, width: int, height: int) -> None:
        stream = self.container.add_stream("libx264", rate=self.rate, options=self.options)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        context = stream.codec_context
        context.time_base = 1 / self.rate
        context.colorspace = context.color_primaries = context.color_trc = 1  # BT.709, what browsers assume
        context.color_range = 1  # limited ("MPEG") range
        self.stream = stream
        if self.audio_from is not None:
            self.audio = _AudioTrack.open(self.audio_from, self.container)

    def finish(self) -> None:
        if self.stream is None:
            raise ValueError("No frame was written, so there is no video to save.")
        self.container.mux(self.stream.encode(None))
        if self.audio is not None:
            self.audio.finish(float(self.end_pts / self.rate))

    def close(self) -> None:
        if self.audio is not None:
            self.audio.close()
        self.container.close()


def _pad_even(image: np.ndarray) -> np.ndarray:
    """Repeat the last row/column if a side is odd: yuv420p needs even width and height."""
    pad_rows, pad_cols = image.shape[0] % 2, image.shape[1] % 2
    if pad_rows or pad_cols:
        image = np.pad(image, ((0, pad_rows), (0, pad_cols), (0, 0)), mode="edge")
    return image


class _AudioTrack:
    """The source's first audio track, copied or transcoded into the output in step with the video.

    Times are moved onto the output's timeline, on which the source's first video frame is 0.
    Audio problems never fail the video: they are logged and the rest of the audio is dropped.
    """

    def __init__(self, source: InputContainer, output: OutputContainer) -> None:
        self.source = source
        self.input = source.streams.audio[0]
        self.offset = _video_start(source)
        self.copy = _can_copy(self.input)
        if self.copy:
            self.output = output.add_stream_from_template(self.input)
        else:
            rate = self.input.codec_context.sample_rate
            self.output = output.add_stream("aac", rate=rate if rate in _AAC_RATES else 48000)
            self.output.layout = "mono" if self.input.codec_context.layout.nb_channels == 1 else "stereo"
        self.container = output
        self.packets = source.demux(self.input)
        self.pending: av.Packet | None = None
        self.done = False

    @classmethod
    def open(cls, path: Path, output: OutputContainer) -> _AudioTrack | None:
        """None (with a log line) when the source has no usable audio: the video is written silent."""
        try:
            source = av.open(str(path), mode="r", metadata_errors="replace")
        except (av.FFmpegError, OSError, ValueError) as error:
            logger.warning("Cannot open the audio source, writing the video without sound: %s", error)
            return None
        if not source.streams.audio or source.streams.audio[0].codec_context is None:
            source.close()
            return None
        try:
            return cls(source, output)
        except (av.FFmpegError, ValueError) as error:
            logger.warning("Cannot add the audio track, writing the video without sound: %s", error)
            source.close()
            return None

    def mux_until(self, seconds: float) -> None:
        """Mux the source audio that starts before ``seconds`` on the output timeline."""
        try:
            while not self.done:
                packet = self.pending or self._next_packet()
                if packet is None:
                    return
                if self._start_of(packet) >= seconds:
                    self.pending = packet
                    return
                self.pending = None
                self._mux(packet)
        except (av.FFmpegError, ValueError) as error:
            logger.warning("Audio stopped early because of damaged audio data: %s", error)
            self.done = True

    def finish(self, end: float) -> None:
        """Mux the audio up to ``end`` seconds (the video's length) and flush the AAC encoder."""
        self.mux_until(end)
        self.done = True
        if not self.copy:
            try:  # frames the decoder still holds, then the encoder's own delay
                self._encode(self.input.decode(None))
            except av.FFmpegError as error:
                logger.warning("The end of the audio could not be decoded: %s", error)
            self.container.mux(self.output.encode(None))

    def close(self) -> None:
        self.source.close()

    def _next_packet(self) -> av.Packet | None:
        for packet in self.packets:
            if packet.pts is not None and packet.size:
                return packet
        self.done = True
        return None

    def _start_of(self, packet: av.Packet) -> float:
        return float(packet.pts * packet.time_base) - self.offset

    def _mux(self, packet: av.Packet) -> None:
        if self.copy:
            if self._start_of(packet) + float((packet.duration or 0) * packet.time_base) < 0:
                return  # ends before the first video frame (AAC's priming packet ends exactly at 0: kept)
            shift = round(self.offset / packet.time_base)
            packet.dts = (packet.dts if packet.dts is not None else packet.pts) - shift
            packet.pts -= shift
            packet.stream = self.output
            self.container.mux(packet)
            return
        self._encode(packet.decode())

    def _encode(self, frames: list[av.AudioFrame]) -> None:
        for frame in frames:
            if frame.pts is None:
                continue
            frame.pts -= round(self.offset / frame.time_base)
            if frame.pts >= 0:  # before the first video frame: nothing to show it with
                self.container.mux(self.output.encode(frame))


def _can_copy(stream: av.audio.stream.AudioStream) -> bool:
    """MP3, and AAC with its config record (ADTS AAC from .ts/.aac files would need a bitstream filter)."""
    name = _codec_name(stream)
    return name in _MP4_AUDIO_CODECS and (name != "aac" or bool(stream.codec_context.extradata))


def _video_start(container: InputContainer) -> float:
    """Seconds at which the source's first video frame is shown: 0 on the output's timeline."""
    for stream in _real_video_streams(container)[:1]:
        if stream.start_time is not None and stream.time_base is not None:
            return float(stream.start_time * stream.time_base)
    return 0.0
