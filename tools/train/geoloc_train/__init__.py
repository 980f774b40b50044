"""Descriptor training for geoloc (docs/TRAINING.md): CosPlace-style classification (seed 002) and
NetVLAD / CRN triplets (seed 003) on a user's geotagged photos, exported through
tools/export_model.py so that geoloc-index, geolocd and Explain take the result unchanged.

  samples     the inputs geoloc-index reads (CSV, VPR file names, EXIF GPS) and proving-ground splits
  geo         great-circle distances, neighbours within a radius
  images      decoding, the serving preprocessing, seed 002's augmentations (explicit randomness)
  cosplace    square cells, groups, the LMCL (CosFace) heads, the classification step
  triplets    NetVLAD centroid initialisation, hard-negative mining, the triplet step
  validation  descriptors of a set, recall@N within 25 m
  trainer     the loop: epochs, validation, best weights, resumable state, export
  progress    rate and ETA on a terminal, plain lines otherwise
"""
