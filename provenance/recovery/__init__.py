"""Finding the recorded original of a stripped copy: perceptual fingerprints (``fingerprint``)
and the local-detail grid (``detail``)."""
