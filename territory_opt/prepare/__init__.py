"""Preparation: from loaded input layers to enriched, segmented customers and the teams that must cover them.

enrich (tiers, service, shoulders, footprints) -> segment (key accounts, micro-segments, coverage) -> advice and
data-quality findings. Nothing here solves anything.
"""
