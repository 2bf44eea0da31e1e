"""Media helpers: safe decoding and encoding of images (``imaging``), hashing (``hashing``)."""
