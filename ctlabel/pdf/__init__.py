"""Figures, captions and panels out of preprint PDFs (pdfplumber; pypdfium2 renders the pixels)."""
