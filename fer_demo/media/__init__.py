"""Media in and out: uploads decoded to RGB, videos decoded and encoded (PyAV), animations."""
