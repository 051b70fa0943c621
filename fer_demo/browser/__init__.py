"""The live mode that runs in the visitor's browser: its files, its model specs and its summaries.

The page (``js/``) detects, tracks and classifies faces itself with
onnxruntime-web, so no camera frame reaches the server; Python serves the
files it needs and records the once-a-second summaries it sends back.
"""
