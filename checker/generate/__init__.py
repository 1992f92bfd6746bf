"""Generation: matting, alignment, crop to a spec, background, beauty, file size, print sheet,
watermark and labels. Each module is plain functions over numpy arrays; fix.py and the web layer
compose them."""
