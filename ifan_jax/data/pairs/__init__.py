"""`pairs/NAME`: a dataset of one's own blurred/sharp photos, with or without dual-pixel views."""
