"""fer-demo: facial expression recognition on images, video and webcam."""

__version__ = "0.1.0"
