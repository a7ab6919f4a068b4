"""The model: the frozen, array-backed `Problem` the solvers see, and the builder that hands prepared
GeoDataFrames over to it."""
