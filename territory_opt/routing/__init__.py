"""Routing core: one day's call route per vehicle (rep), from home and back, with windows, capacity and day length."""
