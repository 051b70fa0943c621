"""What users see and take away: drawn frames, Plotly figures, cards, CSV and JSON."""
