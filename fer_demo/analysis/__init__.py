"""The analysis: faces found, tracked, cut into shots, classified over time, linked into persons."""
