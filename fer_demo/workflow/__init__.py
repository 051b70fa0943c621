"""Jobs that use everything below: the shared Studio, the video loop and workflow, the server webcam."""
